// A user and group to run as ([balancer] user/group, [backends] user/group), resolved to ids
// once, when the config is loaded, so a name the host does not know is a config error.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

namespace pinwheel {

struct run_as {
  /// As written: a name ("nobody") or a numeric id ("65534"); empty: unset.
  std::string user;
  /// As written; empty: the user's primary group.
  std::string group;
  uid_t uid = 0;
  gid_t gid = 0;
  /// Supplementary groups: the user's own from the group database, or just `gid` when the
  /// group is given.
  std::vector<gid_t> groups;

  bool set() const { return !user.empty(); }
  /// Same ids (the names may be spelled differently).
  bool same_ids(const run_as& other) const {
    return uid == other.uid && gid == other.gid && groups == other.groups;
  }
  bool operator==(const run_as& other) const {
    return set() == other.set() && (!set() || same_ids(other));
  }
};

/// Fills uid, gid and groups from user and group. Returns "" or what is wrong, e.g. "there is
/// no user \"nobdy\" on this host", with `key` set to the key to blame ("user" or "group").
std::string resolve_run_as(run_as& r, std::string& key);

/// "nobody (uid 65534, gid 65534)" for logs and `pinwheel --check`.
std::string describe(const run_as& r);

}  // namespace pinwheel
