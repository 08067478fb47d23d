/* Umbrella header of the host SDK: logging, app hooks and configuration. */
#ifndef MGOS_H_
#define MGOS_H_

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "common/cs_dbg.h"
#include "mgos_app.h"
#include "mgos_config.h" /* generated into the gen dir from the schemas */

#ifdef __cplusplus
extern "C" {
#endif

/* Name of the app and of the platform this firmware was built for. */
const char *mgos_sys_app_name(void);
const char *mgos_sys_platform(void);

#ifdef __cplusplus
}
#endif

#endif /* MGOS_H_ */
