# Profile "ncsa": a standalone Zeek (no cluster) with the NCSA ZeroMQ writer plugin, publishing
# every log record as [path, JSON] to the gateway's SUB ingress (config/docker.json,
# ingress.sub.endpoints). The plugin's PUB sockets connect; the gateway binds.

@load NCSA/ZeroMQWriter

redef LogZeroMQ::endpoint = "tcp://172.30.76.10:12345";
# PUB drops what it sends before the gateway's subscription arrived (the slow joiner): wait after
# connecting. Without this pause a short trace can lose every record.
redef LogZeroMQ::zmq_connect_pause = 1000;
# The plugin's default HWM of 1000 loses records under load.
redef LogZeroMQ::zmq_hwm = 100000;
# Wait for unsent records when Zeek exits at the end of a trace.
redef LogZeroMQ::zmq_linger = 10000;
# Optional, like the gateway's routing.include / routing.exclude:
# redef LogZeroMQ::send_logs += { Conn::LOG, DNS::LOG };
# redef LogZeroMQ::excluded_log_ids += { PacketFilter::LOG };
