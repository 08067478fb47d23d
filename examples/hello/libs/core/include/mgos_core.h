/* The host SDK's core lib: the first lib mgos_deps_init() starts. */
#ifndef MGOS_CORE_H_
#define MGOS_CORE_H_

#include <stdbool.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Called by mgos_deps_init() before every other lib. */
bool mgos_core_init(void);

/* True once mgos_core_init() has run: libs can check their init order. */
bool mgos_core_is_up(void);

#ifdef __cplusplus
}
#endif

#endif /* MGOS_CORE_H_ */
