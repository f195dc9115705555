/** Memory of a process as the kernel reports it (/proc/<pid>/status), in MB (10^6 bytes). */
import { readFileSync } from "node:fs";

function field(pid: number, name: "VmRSS" | "VmHWM"): number {
  try {
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    const kb = new RegExp(`^${name}:\\s+(\\d+) kB`, "m").exec(status)?.[1];
    return kb === undefined ? Number.NaN : (Number(kb) * 1024) / 1e6;
  } catch {
    return Number.NaN;
  }
}

/** Resident set size right now. */
export function rssMb(pid: number): number {
  return field(pid, "VmRSS");
}

/** Peak resident set size since the process started ("high water mark"). */
export function peakRssMb(pid: number): number {
  return field(pid, "VmHWM");
}

/** CPU time (user + system) the process has used so far, in ms (/proc/<pid>/stat, clock ticks of 10 ms). */
export function cpuMs(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return Number.NaN;
  }
}

/** Samples the RSS of some processes every `everyMs` and keeps the maximum of each. */
export function sampleMaxRss(pids: readonly number[], everyMs = 100): { stop(): number[] } {
  const max = pids.map(() => 0);
  const tick = () => {
    pids.forEach((pid, i) => {
      const v = rssMb(pid);
      if (Number.isFinite(v) && v > max[i]!) max[i] = v;
    });
  };
  tick();
  const timer = setInterval(tick, everyMs);
  return {
    stop() {
      clearInterval(timer);
      tick();
      return max;
    },
  };
}
