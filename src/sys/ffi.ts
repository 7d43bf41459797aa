// The one place that loads koffi and native libraries. Everything else imports typed wrappers
// from libc.ts or libseccomp.ts, so FFI declarations never leak into other layers.
import * as koffi from "koffi";
import { SysError, UnsupportedError } from "./errors";

export { koffi };

let libcHandle: koffi.LibraryHandle | undefined;

export function libc(): koffi.LibraryHandle {
  libcHandle ??= koffi.load("libc.so.6");
  return libcHandle;
}

/** A libc function bound through koffi: its arguments are checked by koffi, not by the type system. */
export type BoundFunction = (...args: unknown[]) => number;

let syscallFn: BoundFunction | undefined;

/**
 * libc's variadic syscall(2), bound once: callers pass the number, then each argument as a koffi
 * type and a value (syscall(SYS.bpf, "int", cmd, "void *", attr, ...)). For calls glibc has no
 * wrapper for, or whose wrapper would act on every thread (credentials).
 */
export function syscallFunction(): BoundFunction {
  syscallFn ??= libc().func("long syscall(long number, ...)") as BoundFunction;
  return syscallFn;
}

let seccompHandle: koffi.LibraryHandle | undefined;

/** libseccomp, loaded on first use so hosts without it can still run everything else. */
export function libseccompHandle(): koffi.LibraryHandle {
  if (seccompHandle !== undefined) return seccompHandle;
  const errors: string[] = [];
  for (const name of ["libseccomp.so.2", "libseccomp.so"]) {
    try {
      seccompHandle = koffi.load(name);
      return seccompHandle;
    } catch (err) {
      errors.push(`${name}: ${(err as Error).message}`);
    }
  }
  throw new UnsupportedError(
    `libseccomp is not installed (${errors.join("; ")}); install it with: apt-get install libseccomp2`,
  );
}

/** errno of the last failed call made through koffi on this thread. */
export function lastErrno(): number {
  return koffi.errno();
}

/** The return value of a libc call that reports failure as a negative number, or a SysError with its errno. */
export function checkCall(ret: number | bigint, syscall: string, path?: string): number {
  const n = Number(ret);
  if (n < 0) throw new SysError(syscall, lastErrno(), path);
  return n;
}
