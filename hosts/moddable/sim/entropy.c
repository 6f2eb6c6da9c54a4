// xs_tether_entropy: 53 bits from the operating system's random source as a number in [0, 1).
#include "xsmc.h"
#include <stdint.h>
#ifdef _WIN32
	#define _CRT_RAND_S
	#include <stdlib.h>
#else
	#include <sys/random.h>
#endif

static int fill(uint32_t *words, int count)
{
#ifdef _WIN32
	for (int i = 0; i < count; i++) {
		unsigned int w;
		if (rand_s(&w)) return 0;
		words[i] = w;
	}
	return 1;
#else
	return 0 == getentropy(words, count * sizeof(uint32_t));
#endif
}

void xs_tether_entropy(xsMachine *the)
{
	uint32_t words[2];
	if (!fill(words, 2))
		xsUnknownError("no entropy from the operating system");
	double high = (double)(words[0] >> 5);	/* 27 bits */
	double low = (double)(words[1] >> 6);	/* 26 bits */
	xsmcSetNumber(xsResult, (high * 67108864.0 + low) / 9007199254740992.0);
}
