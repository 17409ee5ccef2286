// jq-ctl's command line (SPEC §10): parses it with CLI11 and runs the chosen command.
#pragma once

#include <iosfwd>

namespace jq::ctl {

// Returns the exit code: 0 ok, 1 the server said no, 2 usage, 3 server not reachable, 4 the
// system is unhealthy (status). ctl/errors.h has them.
int Run(int argc, char** argv, std::ostream& out, std::ostream& err);

}  // namespace jq::ctl
