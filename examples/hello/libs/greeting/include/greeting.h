#ifndef GREETING_H_
#define GREETING_H_

#include <stdbool.h>
#include <stddef.h>

bool mgos_greeting_init(void);

/* True once mgos_greeting_init() has run. */
bool greeting_is_ready(void);

/* Writes "<word>, <name>!" into buf; returns what snprintf returns. */
int greeting_format(char *buf, size_t len, const char *name);

#endif /* GREETING_H_ */
