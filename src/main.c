#include <stdio.h>
int main(void) { puts("uptake"); return 0; }
