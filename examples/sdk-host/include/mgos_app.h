/* What an app gives the host SDK core, and what the core calls. */
#ifndef MGOS_APP_H_
#define MGOS_APP_H_

#include <stdbool.h>

#ifdef __cplusplus
extern "C" {
#endif

enum mgos_app_init_result {
  MGOS_APP_INIT_SUCCESS = 0,
  MGOS_APP_INIT_ERROR = -2,
};

/*
 * The app's entry point, called once after every lib is initialised. The
 * core has a weak default that does nothing, so a lib builds on its own.
 */
enum mgos_app_init_result mgos_app_init(void);

/*
 * Initialises the libs in dependency order; defined in the generated
 * mgos_deps_init.c that mos writes into the gen dir.
 */
bool mgos_deps_init(void);

#ifdef __cplusplus
}
#endif

#endif /* MGOS_APP_H_ */
