/*
 * The core's main for the host platform: apply the configuration, start the
 * libs, then the app, and report.
 */
#include <stdio.h>

#include "mgos.h"

#ifndef MGOS_APP
#define MGOS_APP "app"
#endif

const char *mgos_sys_app_name(void) {
  return MGOS_APP;
}

const char *mgos_sys_platform(void) {
  return "host";
}

/* Libs have no app; an app's own mgos_app_init replaces this one. */
__attribute__((weak)) enum mgos_app_init_result mgos_app_init(void) {
  return MGOS_APP_INIT_SUCCESS;
}

int main(void) {
  cs_log_set_level((enum cs_log_level) mgos_sys_config_get_debug_level());
  LOG(LL_INFO, ("%s on %s, device %s: starting", mgos_sys_app_name(),
                mgos_sys_platform(), mgos_sys_config_get_device_id()));
  if (!mgos_deps_init()) {
    LOG(LL_ERROR, ("lib init failed"));
    return 1;
  }
  if (mgos_app_init() != MGOS_APP_INIT_SUCCESS) {
    LOG(LL_ERROR, ("app init failed"));
    return 1;
  }
  printf("mgos: %s init done\n", mgos_sys_app_name());
  return 0;
}
