// Randomness for retry backoff jitter, injected where a decision uses it so tests can fix it.
#pragma once

#include <functional>

namespace jq {

// Returns a value in [0, 1).
using JitterSource = std::function<double()>;

// Uniform in [0, 1), thread-safe (a generator per thread).
JitterSource UniformJitter();

}  // namespace jq
