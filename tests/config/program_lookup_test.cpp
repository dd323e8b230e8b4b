#include "config/program_lookup.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>

#include "config/scratch_dir.hpp"

namespace pinwheel {
namespace {

// Every script of this file's tests, removed when the tests are done.
test::scratch_dir scripts;

// A new executable file holding `text`.
std::string script(const std::string& text) {
  static int count = 0;
  std::string path = scripts.path() + "/backend" + std::to_string(++count);
  std::ofstream(path) << text;
  ::chmod(path.c_str(), 0755);
  return path;
}

TEST(ProgramLookup, BareNamesComeFromPathAndRelativePathsFromTheConfigsFolder) {
  auto sh = resolve_program("sh", "/etc/pinwheel.toml");
  ASSERT_TRUE(sh);
  EXPECT_TRUE(sh->ends_with("/sh"));
  std::string path = script("#!/bin/sh\n");
  std::string dir = path.substr(0, path.rfind('/'));
  std::string name = path.substr(path.rfind('/') + 1);
  EXPECT_EQ(resolve_program("./" + name, dir + "/pinwheel.toml"), path);
  EXPECT_EQ(resolve_program("./missing", dir + "/pinwheel.toml"), std::nullopt);
  EXPECT_EQ(resolve_program(dir, "/etc/pinwheel.toml"), std::nullopt);  // a folder
}

TEST(ProgramLookup, ScriptsWithAnInterpreterThatRunsAreFine) {
  EXPECT_EQ(interpreter_problem(script("#!/bin/sh\nexit 0\n")), "");
  EXPECT_EQ(interpreter_problem(script("#! /bin/sh -e\nexit 0\n")), "");
  EXPECT_EQ(interpreter_problem(script("#!/usr/bin/env sh\nexit 0\n")), "");
  EXPECT_EQ(interpreter_problem(script("#!/usr/bin/env -S sh -e\nexit 0\n")), "");
  EXPECT_EQ(interpreter_problem(script("#!/usr/bin/env -S A=1 /bin/sh -e\nexit 0\n")), "");
  EXPECT_EQ(interpreter_problem(script("\x7f"
                                       "ELF binary")),
            "");
  EXPECT_EQ(interpreter_problem("/nonexistent/program"), "");  // resolve_program's to report
}

TEST(ProgramLookup, AMissingInterpreterIsNamed) {
  std::string path = script("#!/no/such/interpreter\n");
  EXPECT_EQ(interpreter_problem(path), "\"" + path +
                                           "\" starts with \"#!/no/such/interpreter\", and "
                                           "/no/such/interpreter was not found or is not "
                                           "executable; install it or fix the script's first line");
  path = script("#!/etc/passwd\n");
  EXPECT_EQ(interpreter_problem(path),
            "\"" + path +
                "\" starts with \"#!/etc/passwd\", and /etc/passwd "
                "was not found or is not executable; install it or fix the script's first line");
  path = script("#!\n");
  EXPECT_EQ(
      interpreter_problem(path),
      "\"" + path + "\" starts with \"#!\", and names no interpreter; fix the script's first line");
}

TEST(ProgramLookup, EnvLooksTheProgramUpOnPath) {
  std::string path = script("#!/usr/bin/env no-such-interpreter-xyz\n");
  EXPECT_EQ(interpreter_problem(path),
            "\"" + path +
                "\" starts with \"#!/usr/bin/env no-such-interpreter-xyz\", and "
                "\"no-such-interpreter-xyz\" was not found on PATH; install it or fix the script's "
                "first line");
  // Without -S, env gets "sh -e" as one name, as the kernel passes it.
  path = script("#!/usr/bin/env sh -e\n");
  EXPECT_EQ(interpreter_problem(path),
            "\"" + path +
                "\" starts with \"#!/usr/bin/env sh -e\", and \"sh "
                "-e\" was not found on PATH; install it or fix the script's first line");
  // A Windows line end makes the name "sh\r", which the kernel does not find either.
  path = script("#!/usr/bin/env sh\r\n");
  EXPECT_EQ(interpreter_problem(path),
            "\"" + path +
                "\" starts with \"#!/usr/bin/env sh\\r\", and "
                "\"sh\\r\" was not found on PATH; install it or fix the script's first line");
  path = script("#!/usr/bin/env\n");
  EXPECT_EQ(interpreter_problem(path), "\"" + path +
                                           "\" starts with \"#!/usr/bin/env\", and env is given no "
                                           "program to run; fix the script's first line");
}

}  // namespace
}  // namespace pinwheel
