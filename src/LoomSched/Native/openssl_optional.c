/*
 * OpenSSL only where TLS needs it (README, "Host requirements").
 *
 * .NET's crypto shim (libSystem.Security.Cryptography.Native.OpenSsl.a, linked into the binary) loads the host's
 * libssl on its first use, and aborts the process when there is none ("No usable version of libssl was found",
 * SIGABRT, a core dump). Its first use is not TLS: the NATS client draws the random prefix of its inbox names from
 * RandomNumberGenerator at every connection, and so do the messages' UUIDs, and on Linux that generator is
 * OpenSSL's RAND_bytes. A daemon without TLS therefore died at `run` on a host without libssl.
 *
 * The link wraps the shim's two entry points that such a run reaches (ld --wrap, see LoomSched.csproj):
 *   - CryptoNative_EnsureOpenSslInitialized, which .NET calls once before the first crypto call: when none of the
 *     libssl versions the shim accepts can be loaded, it returns success without loading anything, instead of
 *     aborting; otherwise the shim initialises as it always did.
 *   - CryptoNative_GetRandomBytes: without libssl, the kernel's generator (getrandom(2), which also seeds
 *     OpenSSL's and backs Guid.NewGuid); with libssl, OpenSSL's RAND_bytes as before.
 * Everything else (TLS, certificates) still needs libssl: the daemon checks for it before connecting whenever TLS
 * is configured, and says in one line which package to install (src/LoomSched/Nats/OpenSsl.cs).
 */
#include <dlfcn.h>
#include <errno.h>
#include <stdint.h>
#include <sys/random.h>
#include <sys/types.h>

int32_t __real_CryptoNative_EnsureOpenSslInitialized(void);
int32_t __real_CryptoNative_GetRandomBytes(uint8_t* buffer, int32_t count);

/* The sonames the shim tries (opensslshim.c), newest first; OpenSsl.cs probes the same list. */
static const char* const LibSslNames[] = {
    "libssl.so.3", "libssl.so.1.1", "libssl.so.1.0.2", "libssl.so.1.0.0", "libssl.so.10", "libssl.so.1.0", 0
};

/* 1: the shim initialised OpenSSL; -1: no libssl, so the shim was left alone. Set once, before any other call. */
static volatile int s_openssl;

int32_t __wrap_CryptoNative_EnsureOpenSslInitialized(void)
{
    for (int i = 0; LibSslNames[i] != 0; i++)
    {
        void* handle = dlopen(LibSslNames[i], RTLD_LAZY);
        if (handle != 0)
        {
            dlclose(handle);
            s_openssl = 1;
            return __real_CryptoNative_EnsureOpenSslInitialized();
        }
    }
    s_openssl = -1;
    return 0;
}

int32_t __wrap_CryptoNative_GetRandomBytes(uint8_t* buffer, int32_t count)
{
    if (s_openssl > 0)
    {
        return __real_CryptoNative_GetRandomBytes(buffer, count);
    }
    while (count > 0)
    {
        ssize_t got = getrandom(buffer, (size_t)count, 0);
        if (got < 0)
        {
            if (errno == EINTR)
            {
                continue;
            }
            return 0;
        }
        buffer += got;
        count -= (int32_t)got;
    }
    return 1;
}
