#include "supervisor/drop_privileges.hpp"

#include <grp.h>
#include <unistd.h>

#include <cerrno>
#include <stdexcept>
#include <string>
#include <system_error>

namespace pinwheel {

namespace {

[[noreturn]] void fail(const run_as& user, const std::string& step, int error) {
  throw std::runtime_error("cannot drop root to " + describe(user) + ": " + step + ": " +
                           std::system_category().message(error));
}

}  // namespace

void drop_privileges(const run_as& user) {
  if (!user.set()) return;
  if (::geteuid() == user.uid && ::getuid() == user.uid && ::getegid() == user.gid &&
      ::getgid() == user.gid) {
    return;
  }
  // glibc's wrappers apply each change to every thread (the log writers, the metrics thread).
  // Groups first: once the uid is not root, they can no longer be changed.
  if (::setgroups(user.groups.size(), user.groups.data()) != 0) fail(user, "setgroups", errno);
  if (::setresgid(user.gid, user.gid, user.gid) != 0) fail(user, "setgid", errno);
  if (::setresuid(user.uid, user.uid, user.uid) != 0) fail(user, "setuid", errno);
  if (user.uid != 0) {
    if (::setresuid(0, 0, 0) == 0 || ::geteuid() == 0 || ::getuid() == 0)
      fail(user, "root could be regained after setuid", EPERM);
  }
  if (::getegid() != user.gid || ::getgid() != user.gid)
    fail(user, "the group did not change", EPERM);
}

}  // namespace pinwheel
