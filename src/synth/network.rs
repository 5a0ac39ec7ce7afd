//! The network: a new VPC (public subnets per AZ, internet gateway, routes; with private
//! compute subnets, also private subnets per AZ behind NAT gateways), the default VPC, or an
//! existing one; and the three security groups that let only the ALB reach compute and only
//! compute reach EFS.

use serde_json::json;

use super::Synth;
use crate::aws::eip::EipProps;
use crate::aws::internet_gateway::InternetGatewayProps;
use crate::aws::nat_gateway::NatGatewayProps;
use crate::aws::props::Val;
use crate::aws::route_table::{Route, RouteTableProps, Target};
use crate::aws::route_table_association::RouteTableAssociationProps;
use crate::aws::security_group::SecurityGroupProps;
use crate::aws::security_group_rule::{Direction, Peer, SecurityGroupRuleProps};
use crate::aws::subnet::SubnetProps;
use crate::aws::vpc::VpcProps;
use crate::aws::vpc_lookup::VpcLookupProps;
use crate::graph::{GraphError, Node};
use crate::stack::validate::{private_subnet_cidrs, subnet_cidrs};
use crate::stack::{SubnetPlacement, VpcMode};

/// What later parts of the graph attach to.
#[derive(Debug, Clone)]
pub struct Network {
    /// Reference to the VPC id.
    pub vpc_id: String,
    /// Reference to the list of the load balancer's (public) subnet ids (a JSON list once
    /// resolved).
    pub subnet_ids: Val<Vec<String>>,
    /// The subnets compute and the EFS mount targets use: `subnet_ids`, or the private ones.
    pub compute_subnet_ids: Val<Vec<String>>,
    /// Whether compute sits in public subnets, where Fargate tasks need a public IP to reach
    /// ECR and CloudWatch Logs.
    pub compute_public: bool,
    /// Addresses compute starts after: its subnets' way to the internet, the public route
    /// table and associations or the private subnets' routes through their NAT gateway
    /// (instances install packages and tasks pull images at once). Empty for an adopted VPC.
    pub compute_ready: Vec<String>,
    /// Route tables that gateway endpoints (S3) attach to.
    pub route_table_ids: Val<Vec<String>>,
    pub alb_sg: String,
    pub compute_sg: String,
    pub efs_sg: String,
    /// Addresses of a new VPC's way to the internet: the attached gateway, then the route
    /// table with its default route and the subnets' associations. Empty for an adopted VPC.
    pub internet: Vec<String>,
}

/// Port EFS (NFS) listens on.
pub const NFS_PORT: u16 = 2049;

/// What a new VPC's private side adds to the network.
#[derive(Default)]
struct Private {
    subnet_ids: Vec<String>,
    route_table_ids: Vec<String>,
    ready: Vec<String>,
}

pub fn synth(s: &mut Synth) -> Result<Network, GraphError> {
    let mut internet = Vec::new();
    let mut private = None;
    let (vpc_id, subnet_ids, route_table_ids) = match s.stack.stack.network.vpc.value {
        VpcMode::New => new_vpc(s, &mut internet, &mut private)?,
        VpcMode::Default => {
            let lookup = VpcLookupProps {
                default: true,
                vpc_id: None,
                subnet_ids: Vec::new(),
            };
            let n = s.add_typed("default", &lookup, false)?;
            s.gate = Some(n.address.clone());
            (
                n.out("id"),
                Val::Ref(n.out("subnet_ids")),
                Val::Ref(n.out("route_table_ids")),
            )
        }
        VpcMode::Existing => {
            let net = &s.stack.stack.network;
            let lookup = VpcLookupProps {
                default: false,
                vpc_id: net.vpc_id.as_ref().map(|v| v.value.clone()),
                subnet_ids: net.subnet_ids.iter().map(|v| v.value.clone()).collect(),
            };
            let n = s.add_typed("existing", &lookup, false)?;
            s.gate = Some(n.address.clone());
            (
                n.out("id"),
                Val::Ref(n.out("subnet_ids")),
                Val::Ref(n.out("route_table_ids")),
            )
        }
    };
    let mut net = security_groups(s, vpc_id, subnet_ids, route_table_ids)?;
    net.compute_ready = internet.clone();
    net.internet = internet;
    if let Some(p) = private {
        net.compute_subnet_ids = Val::Known(p.subnet_ids);
        if let Val::Known(tables) = &mut net.route_table_ids {
            tables.extend(p.route_table_ids);
        }
        net.compute_public = false;
        net.compute_ready = p.ready;
    }
    Ok(net)
}

/// A VPC's id, its (public) subnet ids and its route table ids.
type Vpc = (String, Val<Vec<String>>, Val<Vec<String>>);

/// A new VPC; `internet` receives the addresses of its way to the internet, `private` the
/// private compute side when the stack asks for one.
fn new_vpc(
    s: &mut Synth,
    internet: &mut Vec<String>,
    private: &mut Option<Private>,
) -> Result<Vpc, GraphError> {
    let vpc = VpcProps {
        cidr_block: s.stack.stack.network.cidr.value.to_string(),
        enable_dns_support: true,
        enable_dns_hostnames: true,
    };
    let vpc = s.add_typed("main", &vpc, true)?;
    let igw = InternetGatewayProps {
        vpc_id: vpc.out("id"),
    };
    let igw = s.add_typed("main", &igw, true)?;
    let rt = route_table(vpc.out("id"), Target::GatewayId(igw.out("id")));
    let rt = s.add_typed("public", &rt, true)?;
    internet.extend([igw.address.clone(), rt.address.clone()]);
    let mut subnets: Vec<String> = Vec::new();
    for (i, cidr) in subnet_cidrs(&s.stack.stack).into_iter().enumerate() {
        let name = format!("public-{}", (b'a' + i as u8) as char);
        let subnet = SubnetProps {
            vpc_id: vpc.out("id"),
            cidr_block: cidr.to_string(),
            // The i-th available AZ of the region, in name order: stable, and chosen by the
            // provider so that synth needs no network.
            az_index: i,
            map_public_ip_on_launch: true,
        };
        let subnet = s.add_typed(&name, &subnet, true)?;
        let association = associate(s, &name, &rt, &subnet)?;
        internet.push(association.address);
        subnets.push(subnet.out("id"));
    }
    s.output("vpc_id", json!(vpc.out("id")));
    s.output("subnet_ids", json!(subnets));
    if s.stack.stack.network.compute_subnets.value == SubnetPlacement::Private {
        let p = private_side(s, &vpc.out("id"), &subnets, internet)?;
        s.output("private_subnet_ids", json!(p.subnet_ids));
        *private = Some(p);
    }
    Ok((
        vpc.out("id"),
        Val::Known(subnets),
        Val::Known(vec![rt.out("id")]),
    ))
}

/// A table in `vpc_id` whose one route sends everything to `target`.
fn route_table(vpc_id: String, target: Target) -> RouteTableProps {
    RouteTableProps {
        vpc_id,
        routes: vec![Route {
            destination_cidr_block: "0.0.0.0/0".into(),
            target,
        }],
    }
}

/// Ties `subnet` to `table`, under the subnet's name.
fn associate(s: &mut Synth, name: &str, table: &Node, subnet: &Node) -> Result<Node, GraphError> {
    let association = RouteTableAssociationProps {
        route_table_id: table.out("id"),
        subnet_id: subnet.out("id"),
    };
    s.add_typed(name, &association, false)
}

/// Private subnets, one per AZ, each routing to the internet through a NAT gateway (one per
/// AZ up to `nat_gateways`, in the public subnets, with an Elastic IP each). A NAT gateway in
/// a VPC whose internet gateway is not attached yet fails ("Gateway.NotAttached"), so each
/// starts after the public side.
fn private_side(
    s: &mut Synth,
    vpc_id: &str,
    public_subnets: &[String],
    internet: &[String],
) -> Result<Private, GraphError> {
    let nats = s.stack.stack.network.nat_gateways.value.max(1) as usize;
    let after: Vec<&str> = internet.iter().map(String::as_str).collect();
    let mut gateways = Vec::new();
    for (j, subnet) in public_subnets.iter().take(nats).enumerate() {
        let az = (b'a' + j as u8) as char;
        let eip = s.add_typed(&format!("nat-{az}"), &EipProps {}, true)?;
        let nat = NatGatewayProps {
            subnet_id: subnet.clone(),
            allocation_id: eip.out("allocation_id"),
        };
        let nat = s.add_typed_after(&az.to_string(), &nat, true, &after)?;
        gateways.push(nat.out("id"));
    }
    let mut p = Private::default();
    for (i, cidr) in private_subnet_cidrs(&s.stack.stack).into_iter().enumerate() {
        let name = format!("private-{}", (b'a' + i as u8) as char);
        let subnet = SubnetProps {
            vpc_id: vpc_id.to_string(),
            cidr_block: cidr.to_string(),
            az_index: i,
            map_public_ip_on_launch: false,
        };
        let subnet = s.add_typed(&name, &subnet, true)?;
        // Each AZ's table points at its own AZ's gateway when there is one, so losing an AZ
        // loses only its own way out.
        let nat = Target::NatGatewayId(gateways[i % gateways.len()].clone());
        let rt = s.add_typed(&name, &route_table(vpc_id.to_string(), nat), true)?;
        let association = associate(s, &name, &rt, &subnet)?;
        p.subnet_ids.push(subnet.out("id"));
        p.route_table_ids.push(rt.out("id"));
        p.ready.push(association.address);
    }
    Ok(p)
}

fn security_groups(
    s: &mut Synth,
    vpc_id: String,
    subnet_ids: Val<Vec<String>>,
    route_table_ids: Val<Vec<String>>,
) -> Result<Network, GraphError> {
    let name = s.name().to_string();
    let group = |s: &mut Synth, role: &str, description: &str| {
        let group = SecurityGroupProps {
            vpc_id: vpc_id.clone(),
            group_name: format!("{name}-{role}"),
            description: description.into(),
            default_egress: false,
        };
        s.add_typed(role, &group, true)
    };
    let alb = group(
        s,
        "alb",
        "wxinfra: load balancer, reachable from the listed ingress CIDRs",
    )?;
    let compute = group(
        s,
        "compute",
        "wxinfra: runtime, reachable only from the load balancer",
    )?;
    let efs = group(
        s,
        "efs",
        "wxinfra: EFS mount targets, reachable only from compute",
    )?;
    client_rules(s, &alb)?;

    let rt_port = s.stack.stack.runtime.port.value;
    let (alb_id, compute_id, efs_id) = (alb.out("id"), compute.out("id"), efs.out("id"));
    let group_peer = |id: &str| Peer::ReferencedGroupId(id.to_string());
    let (ingress, egress) = (Direction::Ingress, Direction::Egress);
    let rules = [
        (
            "alb-to-compute",
            egress,
            &alb_id,
            rt_port,
            group_peer(&compute_id),
            "load balancer to runtime",
        ),
        (
            "compute-from-alb",
            ingress,
            &compute_id,
            rt_port,
            group_peer(&alb_id),
            "runtime from load balancer",
        ),
        (
            "compute-to-efs",
            egress,
            &compute_id,
            NFS_PORT,
            group_peer(&efs_id),
            "runtime to EFS (NFS over TLS)",
        ),
        // The runtime fetches releases from S3 and pulls images/ships logs over HTTPS.
        (
            "compute-to-https",
            egress,
            &compute_id,
            443,
            Peer::CidrIpv4("0.0.0.0/0".into()),
            "runtime to AWS APIs over HTTPS",
        ),
        (
            "efs-from-compute",
            ingress,
            &efs_id,
            NFS_PORT,
            group_peer(&compute_id),
            "EFS from runtime",
        ),
    ];
    for (name, direction, sg, port, peer, description) in rules {
        s.add_typed(name, &rule(direction, sg, port, peer, description), true)?;
    }

    Ok(Network {
        vpc_id,
        compute_subnet_ids: subnet_ids.clone(),
        subnet_ids,
        route_table_ids,
        alb_sg: alb.out("id"),
        compute_sg: compute.out("id"),
        efs_sg: efs.out("id"),
        internet: Vec::new(),
        compute_public: true,
        compute_ready: Vec::new(),
    })
}

/// A TCP rule of `sg` to or from `peer` (a CIDR or a group) on one port.
fn rule(
    direction: Direction,
    sg: &str,
    port: u16,
    peer: Peer,
    description: &str,
) -> SecurityGroupRuleProps {
    SecurityGroupRuleProps {
        security_group_id: sg.to_string(),
        direction,
        ip_protocol: "tcp".into(),
        from_port: port.into(),
        to_port: port.into(),
        description: description.into(),
        peer,
    }
}

/// The load balancer's ingress from each listed CIDR to each listener port.
fn client_rules(s: &mut Synth, alb: &Node) -> Result<(), GraphError> {
    let lb = s.stack.stack.load_balancer.clone();
    let cidrs: Vec<String> = (s.stack.stack.network.ingress_cidrs.iter())
        .map(|c| c.value.clone())
        .collect();
    let mut listeners = vec![("alb-in", lb.port.value, "clients to the listener")];
    if lb.https() {
        listeners.push((
            "alb-in-https",
            lb.https_port.value,
            "clients to the HTTPS listener",
        ));
    }
    for (i, cidr) in cidrs.iter().enumerate() {
        for (name, port, description) in &listeners {
            let peer = Peer::CidrIpv4(cidr.clone());
            let props = rule(Direction::Ingress, &alb.out("id"), *port, peer, description);
            s.add_typed(&format!("{name}-{i}"), &props, true)?;
        }
    }
    Ok(())
}
