//! KVM accelerator: VM and vCPUs through `/dev/kvm`, dispatching exits to the shared buses.
