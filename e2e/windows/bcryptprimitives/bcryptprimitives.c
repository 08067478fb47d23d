/*
 * A stand-in for Windows' bcryptprimitives.dll, for running mos.exe under
 * wine 8, which lacks it: Go's runtime (1.22 and later) loads it at start
 * for ProcessPrng and aborts without it. ProcessPrng is served by advapi32's
 * SystemFunction036 (RtlGenRandom), which wine has. Test harness only: it is
 * put into the temporary wine prefix of `make test-windows`, never shipped.
 */
#include <windows.h>

BOOLEAN WINAPI SystemFunction036(PVOID buffer, ULONG length);

BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T size)
{
	/* RtlGenRandom takes a ULONG count; feed it in chunks that fit. */
	while (size > 0) {
		ULONG n = size > 0x40000000 ? 0x40000000 : (ULONG)size;
		if (!SystemFunction036(data, n))
			return FALSE;
		data += n;
		size -= n;
	}
	return TRUE;
}
