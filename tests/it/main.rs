//! Integration tests, compiled into one binary. Tests that need the AWS emulator start their
//! own `moto_server` (see `support::moto`); nothing here talks to real AWS.

mod support;

mod cli_validate;
mod compute;
mod data;
mod demo;
mod ec2_autoscaling;
mod fargate_scaling;
mod interrupt;
mod k8s;
mod k8s_apply;
mod k8s_local;
mod key_value;
mod lambda_concurrency;
mod network;
mod oci;
mod publish;
mod state_s3;
mod strict;
mod target_group_replacement;
mod user_data;
