#ifndef HELLO_H_
#define HELLO_H_

#include <stdbool.h>
#include <stddef.h>

/* Prints the greeting for name `times` times, upper-cased when shout. */
void hello_greet(const char *name, int times, bool shout);

/* Upper-cases s in place and returns it. */
char *hello_upcase(char *s);

#endif /* HELLO_H_ */
