#include "mgos_core.h"

#include "mgos.h"

static bool s_up = false;

bool mgos_core_init(void) {
  LOG(LL_DEBUG, ("core: device %s on %s", mgos_sys_config_get_device_id(),
                 mgos_sys_platform()));
  s_up = true;
  return true;
}

bool mgos_core_is_up(void) {
  return s_up;
}
