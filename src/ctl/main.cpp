// jq-ctl: the operator's command-line client of jq-server (SPEC §10).
#include <iostream>

#include "ctl/cli.h"

int main(int argc, char** argv) {
  return jq::ctl::Run(argc, argv, std::cout, std::cerr);
}
