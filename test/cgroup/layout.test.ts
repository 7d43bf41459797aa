import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { detectLayout } from "../../src/cgroup/layout";
import { UnsupportedError } from "../../src/sys/errors";

const PROC_CGROUPS = `#subsys_name	hierarchy	num_cgroups	enabled
cpuset	3	1	1
cpu	1	1	1
cpuacct	2	1	1
blkio	7	1	1
memory	4	25	1
devices	5	1	1
freezer	6	1	1
net_cls	0	1	1
hugetlb	0	1	1
pids	8	1	1
rdma	0	1	0
`;

const HYBRID = `31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
33 31 0:30 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct
34 31 0:31 / /sys/fs/cgroup/cpuset rw,relatime - cgroup cgroup rw,cpuset
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,xattr,name=systemd
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
`;

const PURE_V2 = `24 18 0:21 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot
`;

const PURE_V1 = `25 18 0:22 / /sys/fs/cgroup ro,nosuid,nodev,noexec shared:5 - tmpfs tmpfs ro,mode=755
30 25 0:26 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid,nodev,noexec,relatime shared:11 - cgroup cgroup rw,cpu,cpuacct
31 25 0:27 / /sys/fs/cgroup/memory rw,nosuid,nodev,noexec,relatime shared:12 - cgroup cgroup rw,memory
32 25 0:28 / /sys/fs/cgroup/pids rw,nosuid,nodev,noexec,relatime shared:13 - cgroup cgroup rw,pids
33 25 0:29 / /sys/fs/cgroup/rdma rw,nosuid,nodev,noexec,relatime shared:14 - cgroup cgroup rw,rdma
34 25 0:30 / /sys/fs/cgroup/systemd rw,nosuid,nodev,noexec,relatime shared:9 - cgroup cgroup rw,xattr,name=systemd
35 25 0:31 / /sys/fs/cgroup/my\\040dir rw,relatime - cgroup cgroup rw,noprefix,release_agent=/x,freezer
`;

test("pure v2: one cgroup2 mount, controllers from its root", () => {
  const l = detectLayout(PURE_V2, PROC_CGROUPS, "cpuset cpu io memory hugetlb pids rdma misc\n");
  assert.deepEqual(l, {
    mode: "v2",
    unifiedMount: "/sys/fs/cgroup",
    v2Controllers: ["cpuset", "cpu", "io", "memory", "hugetlb", "pids", "rdma", "misc"],
    v1Mounts: {},
  });
});

test("pure v1: co-mounted cpu,cpuacct share a mount; name=systemd, flags and disabled controllers are skipped", () => {
  const l = detectLayout(PURE_V1, PROC_CGROUPS, "");
  assert.equal(l.mode, "v1");
  assert.equal(l.unifiedMount, undefined);
  assert.deepEqual(l.v1Mounts, {
    cpu: "/sys/fs/cgroup/cpu,cpuacct",
    cpuacct: "/sys/fs/cgroup/cpu,cpuacct",
    memory: "/sys/fs/cgroup/memory",
    pids: "/sys/fs/cgroup/pids",
    freezer: "/sys/fs/cgroup/my dir",
  });
});

test("hybrid: separate cpu and cpuacct hierarchies plus an unified cgroup2 mount", () => {
  const l = detectLayout(HYBRID, PROC_CGROUPS, "hugetlb\n");
  assert.equal(l.mode, "hybrid");
  assert.equal(l.unifiedMount, "/sys/fs/cgroup/unified");
  assert.deepEqual(l.v2Controllers, ["hugetlb"]);
  assert.equal(l.v1Mounts.cpu, "/sys/fs/cgroup/cpu");
  assert.equal(l.v1Mounts.cpuacct, "/sys/fs/cgroup/cpuacct");
  assert.equal(l.v1Mounts["name=systemd"], undefined);
  assert.equal(l.v1Mounts.systemd, undefined);
});

test("no cgroup mounted at all is UnsupportedError", () => {
  assert.throws(() => detectLayout("31 23 0:28 / /sys rw - sysfs sysfs rw\n", PROC_CGROUPS, ""), UnsupportedError);
});

test("this host's layout agrees with /proc/self/mountinfo, and is cached", () => {
  const host = detectLayout();
  assert.equal(detectLayout(), host);
  const mi = readFileSync("/proc/self/mountinfo", "utf8");
  const hasV1 = / - cgroup cgroup \S*(cpu|memory|pids)/.test(mi);
  const hasV2 = / - cgroup2 /.test(mi);
  assert.equal(host.mode, hasV2 ? (hasV1 ? "hybrid" : "v2") : "v1");
  // DESIGN.md section 3: this machine is hybrid with cpu and cpuacct in separate hierarchies.
  if (host.mode === "hybrid" && host.v1Mounts.cpu === "/sys/fs/cgroup/cpu") {
    assert.equal(host.unifiedMount, "/sys/fs/cgroup/unified");
    assert.equal(host.v1Mounts.cpuacct, "/sys/fs/cgroup/cpuacct");
    for (const c of ["cpuset", "memory", "freezer", "blkio", "pids"]) assert.equal(host.v1Mounts[c], `/sys/fs/cgroup/${c}`);
  }
});
