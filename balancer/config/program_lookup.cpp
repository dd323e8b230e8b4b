#include "config/program_lookup.hpp"

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "config/config_error.hpp"

namespace pinwheel {

namespace {

namespace fs = std::filesystem;

bool is_executable_file(const fs::path& path) {
  std::error_code ec;
  return ::access(path.c_str(), X_OK) == 0 && !fs::is_directory(path, ec);
}

// Searches PATH like execvp does for a name without '/'.
std::optional<std::string> find_on_path(const std::string& name) {
  const char* path_env = std::getenv("PATH");
  std::stringstream dirs(path_env ? path_env : "/usr/local/bin:/usr/bin:/bin");
  for (std::string dir; std::getline(dirs, dir, ':');) {
    fs::path candidate = fs::path(dir.empty() ? "." : dir) / name;
    if (is_executable_file(candidate)) return candidate.string();
  }
  return std::nullopt;
}

}  // namespace

std::optional<std::string> resolve_program(const std::string& program,
                                           const std::string& config_path) {
  if (program.find('/') == std::string::npos) return find_on_path(program);
  fs::path p(program);
  if (p.is_relative()) p = fs::path(config_path).parent_path() / p;
  // Lexically only: a symlink stays a symlink, since some programs look at their argv[0].
  fs::path normal = p.lexically_normal();
  if (is_executable_file(normal)) return normal.string();
  return std::nullopt;
}

std::string interpreter_problem(const std::string& program) {
  // The kernel reads at most this much of a script's first line (BINPRM_BUF_SIZE).
  constexpr std::size_t kLineLimit = 256;
  std::ifstream file(program, std::ios::binary);
  std::string head(kLineLimit, '\0');
  file.read(head.data(), kLineLimit);
  head.resize(static_cast<std::size_t>(file.gcount()));
  if (!head.starts_with("#!")) return "";
  std::string line = head.substr(0, head.find('\n'));
  auto blank = [](char c) { return c == ' ' || c == '\t'; };

  // "#!INTERPRETER ARG": the kernel passes everything after the interpreter as one argument.
  std::size_t at = 2;
  while (at < line.size() && blank(line[at])) ++at;
  std::size_t end = at;
  while (end < line.size() && !blank(line[end])) ++end;
  std::string interpreter = line.substr(at, end - at);
  while (end < line.size() && blank(line[end])) ++end;
  std::string argument = line.substr(end);
  while (!argument.empty() && blank(argument.back())) argument.pop_back();

  std::string said = in_quotes(program) + " starts with " + in_quotes(line) + ", and ";
  const std::string install = "; install it or fix the script's first line";
  if (interpreter.empty()) return said + "names no interpreter; fix the script's first line";
  if (!is_executable_file(interpreter))
    return said + interpreter + " was not found or is not executable" + install;
  if (fs::path(interpreter).filename() != "env") return "";

  // env runs its argument as a program. Only "-S" splits it into words; then the program is
  // the first word that is neither an option nor a NAME=VALUE setting.
  std::string name = argument;
  if (argument.starts_with("-S")) {
    std::istringstream words(argument.substr(2));
    name.clear();
    for (std::string word; words >> word;) {
      if (word.starts_with("-") || word.find('=') != std::string::npos) continue;
      name = word;
      break;
    }
  }
  if (name.empty()) return said + "env is given no program to run; fix the script's first line";
  if (name.find('/') != std::string::npos) {
    if (is_executable_file(name)) return "";
    return said + in_quotes(name) + " was not found or is not executable" + install;
  }
  if (find_on_path(name)) return "";
  return said + in_quotes(name) + " was not found on PATH" + install;
}

}  // namespace pinwheel
