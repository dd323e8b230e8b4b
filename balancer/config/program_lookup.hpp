// Finding a backend's program the way exec will, before anything is spawned.
#pragma once

#include <optional>
#include <string>

namespace pinwheel {

/// Resolves command[0] like a shell would, but a relative path against the folder of
/// `config_path`, so a config keeps working from any working directory. nullopt if it is
/// missing, a folder, or not executable.
std::optional<std::string> resolve_program(const std::string& program,
                                           const std::string& config_path);

/// When `program` is a script (its first line "#!INTERPRETER [ARG]"), why that line cannot run
/// and what to do: the interpreter is missing or not executable, or, for "#!/usr/bin/env NAME",
/// NAME is not on PATH. "" when it can run, or when `program` is not a script.
std::string interpreter_problem(const std::string& program);

}  // namespace pinwheel
