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
