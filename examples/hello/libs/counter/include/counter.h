#ifndef COUNTER_H_
#define COUNTER_H_

#include <stdbool.h>

bool mgos_counter_init(void);

/* Counts one more and returns the new count (1, 2, ...). */
int counter_next(void);

#endif /* COUNTER_H_ */
