#include "hello.h"

#include <stdio.h>

#include "counter.h"
#include "greeting.h"

void hello_greet(const char *name, int times, bool shout) {
  char buf[200];
  for (int i = 0; i < times; i++) {
    greeting_format(buf, sizeof(buf), name);
    if (shout) hello_upcase(buf);
    printf("%s (%d/%d)\n", buf, counter_next(), times);
  }
}
