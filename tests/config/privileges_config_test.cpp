// [balancer] and [backends] user/group, and the backends' limits: read, resolved, validated
// together (one user once the balancer drops root), and what a reload does with them.
#include <gtest/gtest.h>

#include "common/proc_stat.hpp"
#include "config/byte_size.hpp"
#include "config/config_diff.hpp"
#include "config/config_error.hpp"
#include "config/config_loader.hpp"
#include "config/fake_host.hpp"
#include "config/run_as.hpp"
#include "config/run_plan.hpp"

namespace pinwheel {
namespace {

const std::string kBackends =
    "[backends]\ncommand = [\"/bin/sh\", \"-c\", \"exit 0\", \"{port}\"]\n";

// Debian's unprivileged account and group, present on every host the tests run on.
constexpr uid_t kNobody = 65534;
constexpr gid_t kNogroup = 65534;

std::string error_of(const std::string& toml, test::fake_host& host) {
  try {
    make_plan(load_config_text(toml, "test.toml"), host.facts);
  } catch (const config_error& e) {
    return e.what();
  }
  return "(no error)";
}

std::string error_of(const std::string& toml) {
  test::fake_host host;
  return error_of(toml, host);
}

TEST(ByteSize, ParsesBinaryAndDecimalUnits) {
  EXPECT_EQ(parse_byte_size("512MiB"), 512ULL << 20);
  EXPECT_EQ(parse_byte_size("2GiB"), 2ULL << 30);
  EXPECT_EQ(parse_byte_size("64MB"), 64'000'000ULL);
  EXPECT_EQ(parse_byte_size("4096B"), 4096ULL);
  EXPECT_EQ(parse_byte_size("1kB"), 1000ULL);
  for (const char* bad : {"", "512", "512M", "MiB", "-1MiB", "1.5GiB", "512 MiB", "99999999TiB"})
    EXPECT_FALSE(parse_byte_size(bad)) << bad;
  EXPECT_EQ(format_byte_size(512ULL << 20), "512MiB");
  EXPECT_EQ(format_byte_size(1000), "1000B");
}

TEST(ProcStat, ResidentBytesAreTheSecondFieldOfStatm) {
  EXPECT_EQ(parse_statm_resident("2000 300 100 10 0 500 0\n", 4096), 300ULL * 4096);
  EXPECT_FALSE(parse_statm_resident("", 4096));
  EXPECT_FALSE(parse_statm_resident("2000 x 1\n", 4096));
  EXPECT_TRUE(read_resident_bytes(::getpid()).value_or(0) > 0);
  EXPECT_FALSE(read_resident_bytes(0));
}

TEST(PrivilegesConfig, ReadsUsersGroupsAndLimits) {
  options o = load_config_text(R"([balancer]
user = "nobody"
[backends]
command = ["/bin/sh", "{port}"]
user = "nobody"
group = "nogroup"
max_open_files = 4096
max_address_space = "512MiB"
max_memory = "64MiB"
)",
                               "test.toml");
  EXPECT_EQ(o.balancer.user.uid, kNobody);
  EXPECT_EQ(o.balancer.user.gid, kNogroup);
  EXPECT_EQ(o.backends.user.uid, kNobody);
  EXPECT_EQ(o.backends.user.groups, (std::vector<gid_t>{kNogroup}));
  EXPECT_EQ(o.backends.max_open_files, 4096U);
  EXPECT_EQ(o.backends.max_address_space, 512ULL << 20);
  EXPECT_EQ(o.backends.max_memory, 64ULL << 20);
  EXPECT_EQ(error_of(R"([balancer]
user = "nobody"
[backends]
command = ["/bin/sh", "{port}"]
user = "nobody"
group = "nogroup"
)"),
            "(no error)");
}

TEST(PrivilegesConfig, NumericIdsAreTaken) {
  options o =
      load_config_text("[balancer]\nuser = 65534\ngroup = \"65534\"\n" + kBackends, "test.toml");
  EXPECT_EQ(o.balancer.user.uid, kNobody);
  EXPECT_EQ(o.balancer.user.gid, kNogroup);
}

TEST(PrivilegesConfig, UnknownNamesNameTheKeyAndLine) {
  EXPECT_EQ(error_of("[balancer]\nuser = \"no-such-user-pw\"\n" + kBackends),
            "test.toml:2:8: [balancer] user: there is no user \"no-such-user-pw\" on this host "
            "(getent passwd no-such-user-pw)");
  EXPECT_EQ(error_of(kBackends + "user = \"nobody\"\ngroup = \"no-such-group-pw\"\n"),
            "test.toml:4:9: [backends] group: there is no group \"no-such-group-pw\" on this "
            "host (getent group no-such-group-pw)");
  EXPECT_EQ(error_of("[balancer]\ngroup = \"nogroup\"\n" + kBackends),
            "test.toml:2:9: [balancer] group: group needs user: give user too (the group alone "
            "is not dropped to)");
  EXPECT_EQ(error_of("[balancer]\nuser = -1\n" + kBackends),
            "test.toml:2:8: [balancer] user: -1 is not an id; use 0 to 4294967294");
  EXPECT_EQ(error_of("[balancer]\nuser = \"\"\n" + kBackends),
            "test.toml:2:8: [balancer] user: is empty; give a name such as \"nobody\" or an id");
}

TEST(PrivilegesConfig, BadSizesAndLimitsNameTheKey) {
  EXPECT_EQ(error_of(kBackends + "max_memory = \"512M\"\n"),
            "test.toml:3:14: [backends] max_memory: \"512M\" is not a size; write a whole number "
            "and a unit (B, KiB, MiB, GiB, TiB, or kB, MB, GB, TB), e.g. \"512MiB\"");
  EXPECT_EQ(error_of(kBackends + "max_address_space = \"1MiB\"\n"),
            "test.toml:3:21: [backends] max_address_space: \"1MiB\" is too small; the minimum is "
            "16MiB");
  EXPECT_EQ(error_of(kBackends + "max_open_files = 3\n"),
            "test.toml:3:18: [backends] max_open_files: 3 is out of range; use 16 to 1073741816");
  EXPECT_EQ(error_of("[backends]\nservers = [\"127.0.0.1:9001\"]\nmax_memory = \"1GiB\"\n"),
            "test.toml:3:14: [backends] max_memory: applies to backends Pinwheel spawns "
            "(command), not to servers it does not start");
}

TEST(PrivilegesConfig, BackendsMustRunAsTheUserTheBalancerDropsTo) {
  EXPECT_EQ(error_of("[balancer]\nuser = \"nobody\"\n" + kBackends + "user = \"root\"\n"),
            "test.toml:5:8: [backends] user: root (uid 0, gid 0) differs from [balancer] user = "
            "\"nobody\" (test.toml:2:8) = nobody (uid 65534, gid 65534): once the balancer has "
            "dropped root it cannot start processes as another user; give both the same user "
            "and group, or remove this one (backends then run as the balancer's user)");
  // The same user by id is the same user.
  EXPECT_EQ(error_of("[balancer]\nuser = \"nobody\"\n" + kBackends + "user = 65534\n"),
            "(no error)");
}

TEST(PrivilegesConfig, WithoutRootOnlyTheCurrentUserWillDo) {
  test::fake_host host;
  host.facts.uid = 1000;
  host.facts.gid = 1000;
  EXPECT_EQ(error_of("[balancer]\nuser = \"nobody\"\n" + kBackends, host),
            "test.toml:2:8: [balancer] user: Pinwheel runs as uid 1000, not root, so it cannot "
            "switch to nobody (uid 65534, gid 65534); start it as root (it binds, then drops to "
            "this user) or remove user");
  EXPECT_EQ(error_of(kBackends + "user = \"nobody\"\n", host),
            "test.toml:3:8: [backends] user: Pinwheel runs as uid 1000, not root, so it cannot "
            "start backends as nobody (uid 65534, gid 65534); start it as root or remove user");
  host.facts.uid = kNobody;
  host.facts.gid = kNogroup;
  EXPECT_EQ(error_of("[balancer]\nuser = \"nobody\"\n" + kBackends + "user = \"nobody\"\n", host),
            "(no error)");
}

TEST(PrivilegesConfig, OpenFilesAboveTheHardLimitNeedRootAtSpawn) {
  test::fake_host host;
  host.facts.open_files_hard = 4096;
  const std::string toml = kBackends + "max_open_files = 100000\n";
  EXPECT_EQ(error_of(toml, host), "(no error)");  // root raises it in the child
  EXPECT_EQ(error_of("[balancer]\nuser = \"nobody\"\n" + toml, host),
            "test.toml:5:18: [backends] max_open_files: 100000 is above the hard open-file "
            "limit 4096, which only root may raise and the backends are started without root; "
            "lower it, or raise the limit Pinwheel starts with (LimitNOFILE=)");
}

TEST(PrivilegesConfig, APrivilegedPortAfterTheDropIsRejectedPlainly) {
  test::fake_host host;
  host.facts.uid = kNobody;
  host.facts.gid = kNogroup;
  host.facts.try_bind = [](const asio::ip::tcp::endpoint& e, bool) -> std::error_code {
    if (e.port() < 1024) return std::make_error_code(std::errc::permission_denied);
    return {};
  };
  EXPECT_EQ(error_of("[balancer]\nlisten = \"0.0.0.0:80\"\nuser = \"nobody\"\n" + kBackends, host),
            "test.toml:2:10: [balancer] listen: cannot bind 0.0.0.0:80: Pinwheel gave root up "
            "after start-up ([balancer] user = \"nobody\" (test.toml:3:8)), so it can no longer "
            "bind ports below 1024; restart Pinwheel to listen there, or pick a port from 1024 "
            "up");
}

TEST(PrivilegesConfig, AReloadKeepsTheBalancerUserAndRestartsBackendsForNewLimits) {
  test::fake_host host;
  options running_o = load_config_text(
      "[balancer]\nuser = \"nobody\"\n" + kBackends + "count = 2\nbase_port = 9001\n", "test.toml");
  run_plan running_plan = make_plan(running_o, host.facts);
  options next_o = load_config_text("[balancer]\nuser = \"root\"\n" + kBackends +
                                        "count = 2\nbase_port = 9001\nmax_open_files = 512\n"
                                        "max_memory = \"1GiB\"\n",
                                    "test.toml");
  run_plan next_plan = make_plan(next_o, host.facts);
  config_diff d = diff_configs(running_o, running_plan, next_o, next_plan);
  EXPECT_EQ(d.needs_restart, (std::vector<std::string>{"balancer.user"}));
  EXPECT_EQ(next_o.balancer.user.uid, kNobody);
  EXPECT_EQ(d.restarted, (std::vector<std::size_t>{0, 1}));
}

}  // namespace
}  // namespace pinwheel
