// The real process_env: the steady clock, pipe2, vfork + exec, kill, waitpid.
//
// start() uses vfork: the child borrows the balancer's memory until exec instead of copying its
// page tables, so a restart stalls the event loop no longer however large the balancer has
// grown. Until exec the child therefore makes only async-signal-safe calls on data prepared
// before, with every signal blocked, and resets all dispositions and the mask before exec. It
// makes its own process group, dies with the balancer (PR_SET_PDEATHSIG), announces its pid
// (see process_spec::announce_fd), is pinned to its core, and keeps no descriptor of ours but
// the ones it is given. Problems it meets are reported on a close-on-exec status pipe as
// {stage, errno} records: a failed pin is a warning (it runs unpinned), anything else fails
// the start. Stateless; call from one thread at a time.
#pragma once

#include "supervisor/process_env.hpp"

namespace pinwheel {

class system_process_env : public process_env {
 public:
  std::chrono::steady_clock::time_point now() override;
  std::error_code make_pipe(int fds[2]) override;
  process_start start(const process_spec& spec) override;
  void signal_group(pid_t pgid, int signal) override;
  pid_t reap(int& wait_status) override;
};

}  // namespace pinwheel
