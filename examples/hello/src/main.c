#include "mgos.h"

#include "hello.h"

/* Set by the host cond in mos.yml. */
#ifndef HELLO_ON_HOST
#define HELLO_ON_HOST 0
#endif

enum mgos_app_init_result mgos_app_init(void) {
  const char *name = mgos_sys_config_get_hello_name();
  int times = mgos_sys_config_get_hello_times();
  if (name == NULL || times < 0) {
    LOG(LL_ERROR, ("hello: bad config: name %s, times %d",
                   name ? name : "(null)", times));
    return MGOS_APP_INIT_ERROR;
  }
  hello_greet(name, times, mgos_sys_config_get_hello_shout());
  printf("hello: built for %s\n", HELLO_ON_HOST ? "the host" : "another platform");
  return MGOS_APP_INIT_SUCCESS;
}
