// Package procstat reads how much CPU time and memory a process has used,
// for the benchmarks of every package, which report them beside their
// rates: on a shared machine the CPU time is the steadier figure, and a
// benchmark that starts colligo processes measures them from outside.
// Linux only (getrusage and /proc); where a figure cannot be read the
// functions return -1, which a reported metric shows plainly.
package procstat
