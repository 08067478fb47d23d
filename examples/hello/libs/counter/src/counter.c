#include "counter.h"

#include "greeting.h"
#include "mgos.h"

static int s_count = -1;

bool mgos_counter_init(void) {
  /* counter lists greeting in its libs, so mos starts greeting first. */
  if (!greeting_is_ready()) {
    LOG(LL_ERROR, ("counter: greeting is not initialised yet"));
    return false;
  }
  s_count = 0;
  return true;
}

int counter_next(void) {
  if (s_count < 0) {
    LOG(LL_ERROR, ("counter: used before mgos_counter_init"));
    return -1;
  }
  return ++s_count;
}
