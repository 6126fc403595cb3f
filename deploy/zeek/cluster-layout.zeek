# Cluster layout of the compose stack (docker-compose.yml). Zeek finds this file through
# ZEEKPATH (run-node.sh adds this folder) when CLUSTER_NODE is set.
#
# The gateway is the cluster's only LOGGER: every other node (the manager, since it is not the
# logger, and the workers) PUSHes its log writes to tcp://<logger ip>:<logger p>, the
# gateway's PULL ingress (config/docker.json, ingress.pull.endpoints). With the ZeroMQ backend
# a node's $ip is only used to build that endpoint; it must be a literal address, so the compose
# network has fixed addresses. Keep these in step with docker-compose.yml
# (test/unit/deploy/compose.test.ts checks them).
#
# Following Zeek's advice, this file only defines the layout; everything else is in common.zeek.

redef Cluster::manager_is_logger = F;

redef Cluster::nodes = {
	["manager"] = [$node_type=Cluster::MANAGER, $ip=172.30.76.20],
	["logger-1"] = [$node_type=Cluster::LOGGER, $ip=172.30.76.10, $p=5560/tcp],
	["worker-1"] = [$node_type=Cluster::WORKER, $ip=172.30.76.30],
	# The live worker (profile "live") shares the host's network; its address on the compose
	# network is the bridge's gateway address. It only connects out, so nothing listens there.
	["worker-live"] = [$node_type=Cluster::WORKER, $ip=172.30.76.1],
};
