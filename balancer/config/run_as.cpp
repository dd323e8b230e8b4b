#include "config/run_as.hpp"

#include <grp.h>
#include <pwd.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <optional>

#include "config/config_error.hpp"

namespace pinwheel {

namespace {

std::optional<unsigned> numeric_id(const std::string& text) {
  unsigned id = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), id);
  if (ec != std::errc() || end != text.data() + text.size() || text.empty()) return std::nullopt;
  return id;
}

// getpw*_r / getgr*_r with a buffer that grows on ERANGE.
template <class Entry, class Lookup>
std::optional<Entry> look_up(Lookup lookup, std::string& storage) {
  long hint = ::sysconf(_SC_GETPW_R_SIZE_MAX);
  storage.assign(hint > 0 ? static_cast<std::size_t>(hint) : 4096, '\0');
  for (;;) {
    Entry entry{};
    Entry* found = nullptr;
    int error = lookup(&entry, storage.data(), storage.size(), &found);
    if (error == ERANGE && storage.size() < (1U << 20)) {
      storage.resize(storage.size() * 2);
      continue;
    }
    if (error != 0 || found == nullptr) return std::nullopt;
    return entry;
  }
}

}  // namespace

std::string resolve_run_as(run_as& r, std::string& key) {
  r.groups.clear();
  key = "user";
  if (!r.set()) {
    key = "group";
    if (!r.group.empty())
      return "group needs user: give user too (the group alone is not dropped to)";
    return "";
  }
  std::string storage;
  std::optional<passwd> account;
  if (auto id = numeric_id(r.user)) {
    r.uid = *id;
    account = look_up<passwd>([&](passwd* e, char* b, std::size_t n,
                                  passwd** f) { return ::getpwuid_r(r.uid, e, b, n, f); },
                              storage);
  } else {
    account = look_up<passwd>([&](passwd* e, char* b, std::size_t n,
                                  passwd** f) { return ::getpwnam_r(r.user.c_str(), e, b, n, f); },
                              storage);
    if (!account)
      return "there is no user " + in_quotes(r.user) + " on this host (getent passwd " + r.user +
             ")";
    r.uid = account->pw_uid;
  }
  if (!r.group.empty()) {
    key = "group";
    if (auto id = numeric_id(r.group)) {
      r.gid = *id;
    } else {
      std::string group_storage;
      auto group = look_up<struct group>(
          [&](struct group* e, char* b, std::size_t n, struct group** f) {
            return ::getgrnam_r(r.group.c_str(), e, b, n, f);
          },
          group_storage);
      if (!group)
        return "there is no group " + in_quotes(r.group) + " on this host (getent group " +
               r.group + ")";
      r.gid = group->gr_gid;
    }
    r.groups = {r.gid};
    return "";
  }
  key = "user";
  if (!account) {
    return "uid " + r.user +
           " has no entry in the user database, so its group is unknown; give group too";
  }
  r.gid = account->pw_gid;
  // The user's supplementary groups, as login(1) would give them.
  int count = 32;
  std::vector<gid_t> groups(static_cast<std::size_t>(count));
  while (::getgrouplist(account->pw_name, r.gid, groups.data(), &count) < 0 && count < 65536)
    groups.resize(static_cast<std::size_t>(count));
  groups.resize(static_cast<std::size_t>(std::max(count, 0)));
  if (std::find(groups.begin(), groups.end(), r.gid) == groups.end()) groups.push_back(r.gid);
  r.groups = std::move(groups);
  return "";
}

std::string describe(const run_as& r) {
  if (!r.set()) return "(unchanged)";
  return r.user + (r.group.empty() ? "" : ":" + r.group) + " (uid " + std::to_string(r.uid) +
         ", gid " + std::to_string(r.gid) + ")";
}

}  // namespace pinwheel
