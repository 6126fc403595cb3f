# Loaded by every cluster node of the compose stack (manager and workers), after the layout.
#
# Since Zeek 8.1 no cluster backend is loaded implicitly: load the ZeroMQ one. Its log writes go
# to the LOGGER nodes of cluster-layout.zeek, i.e. to the gateway's PULL socket; the manager
# runs the XPUB/XSUB proxy the nodes use for events.

@load policy/frameworks/cluster/backend/zeromq

# The proxy runs on the manager and listens on every address of its container; the other nodes
# (and the manager itself) reach it at the manager's fixed address. The ports are Zeek's defaults.
redef Cluster::Backend::ZeroMQ::listen_xpub_endpoint = "tcp://0.0.0.0:5555";
redef Cluster::Backend::ZeroMQ::listen_xsub_endpoint = "tcp://0.0.0.0:5556";
redef Cluster::Backend::ZeroMQ::connect_xpub_endpoint = "tcp://172.30.76.20:5556";
redef Cluster::Backend::ZeroMQ::connect_xsub_endpoint = "tcp://172.30.76.20:5555";

# Give queued log batches time to reach the gateway when a node stops (a pcap worker stops after
# every file). The default is 500 ms.
redef Cluster::Backend::ZeroMQ::linger_ms = 5000;

# CURVE: Zeek reads ZEEK_CLUSTER_BACKEND_ZEROMQ_CURVE_* from the environment (see
# deploy/.env.example). Do not also set the curve_* script options here: mixing both is fatal.
