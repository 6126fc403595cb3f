# Loaded by the pcap-reading worker (worker-1) for each file. A cluster worker does not exit at the
# end of a trace by itself (the ZeroMQ backend keeps its I/O loop alive), so stop it there; the
# backend's linger (common.zeek) lets the last log batches reach the gateway first.

event Pcap::file_done(path: string)
	{
	terminate();
	}
