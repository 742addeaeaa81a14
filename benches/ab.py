#!/usr/bin/env python3
"""Alternating A/B timing of two commands, for before/after comparisons on a noisy machine.

usage: benches/ab.py N COMMAND_A... -- COMMAND_B...

Runs each command twice to warm up, then N times each, alternating (A B, B A, ...), and prints
the median and fastest wall time and the median CPU time (user + system) of each, and B/A.
Example (the previous release binary against this checkout's):
  benches/ab.py 30 OLD/vsimport import F -m M --catalog C --dry-run -q -- \
      target/release/vsimport import F -m M --catalog C --dry-run -q
"""
import subprocess, sys, time, resource, statistics, os
args=sys.argv[1:]
n=int(args[0]); i=args.index('--')
A=args[1:i]; B=args[i+1:]
res={'A':[], 'B':[]}
def run(cmd):
    t=time.perf_counter()
    r0=resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    r1=resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.perf_counter()-t, (r1.ru_utime-r0.ru_utime)+(r1.ru_stime-r0.ru_stime)
for k in range(2): run(A); run(B)
for k in range(n):
    for name,cmd in (('A',A),('B',B)) if k%2==0 else (('B',B),('A',A)):
        res[name].append(run(cmd))
for name in 'AB':
    w=[x[0]*1000 for x in res[name]]; c=[x[1]*1000 for x in res[name]]
    print(f"{name}: wall median {statistics.median(w):.1f} ms (min {min(w):.1f}), cpu median {statistics.median(c):.1f} ms")
ma=statistics.median([x[0] for x in res['A']]); mb=statistics.median([x[0] for x in res['B']])
print(f"B/A wall = {mb/ma:.3f}")
