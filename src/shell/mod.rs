//! The thin madsim shell: one simulated node per broker, the controller and each client;
//! it moves the core's messages over madsim's network, turns deadlines into madsim
//! timers, applies disk writes to [`disk::SimDisk`] and records trace events.
//!
//! Architecture invariant: this is the only module that imports madsim, and the only one
//! that creates core state machines at run time.

pub mod cluster;
pub mod disk;
pub mod links;
mod node;
mod wake;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use crate::types::{BrokerId, ControllerId, GroupName, NodeId, SimTime};

/// The port every node listens on.
pub const PORT: u16 = 9092;
/// The datagram tag of every protocol message.
pub const TAG: u64 = 1;

/// madsim's clock, looked up once: finding the current runtime's clock costs a
/// thread-local lookup and a reference count each time.
#[derive(Clone)]
pub struct Clock(madsim::time::TimeHandle);

impl Clock {
    /// The clock of the runtime this task runs in.
    pub fn current() -> Clock {
        Clock(madsim::time::TimeHandle::current())
    }

    /// Simulated time since the runtime started.
    pub fn now(&self) -> SimTime {
        let elapsed = self.0.elapsed();
        SimTime(u64::try_from(elapsed.as_micros()).expect("simulated time fits in u64"))
    }

    /// A timer for simulated time `at` (at least 1 ms away: madsim's sleep floor), to
    /// poll by hand.
    pub fn timer(&self, at: SimTime) -> madsim::time::Sleep {
        let wait = at.0.saturating_sub(self.now().0);
        self.0.sleep(std::time::Duration::from_micros(wait))
    }
}

/// Simulated time since the runtime started.
pub fn now() -> SimTime {
    Clock::current().now()
}

/// Sleeps until simulated time `at` (at least 1 ms: madsim's sleep floor).
pub async fn sleep_until(at: SimTime) {
    Clock::current().timer(at).await;
}

thread_local! {
    /// The run's consumer groups in scenario order (a simulation runs on one thread), so
    /// that member addresses follow the scenario, not the process-wide name table.
    static GROUPS: std::cell::RefCell<Vec<GroupName>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Sets the run's consumer groups, in scenario order, before any member node starts.
pub fn set_groups(groups: Vec<GroupName>) {
    GROUPS.with(|g| *g.borrow_mut() = groups);
}

fn group_slot(group: GroupName) -> u8 {
    GROUPS.with(|groups| {
        let position = groups.borrow().iter().position(|g| *g == group);
        u8::try_from(position.expect("a member of one of the run's groups")).expect("few groups")
    })
}

/// The simulated IP address of a node.
pub fn address(node: NodeId) -> SocketAddr {
    let ip = match node {
        // 10.0.0.100 for the sole controller, 10.0.0.101.. for a quorum's.
        NodeId::Controller(ControllerId(c)) => Ipv4Addr::new(10, 0, 0, 100 + c),
        NodeId::Broker(BrokerId(b)) => Ipv4Addr::new(10, 0, 0, b),
        NodeId::Producer(p) => Ipv4Addr::new(10, 0, 1, p),
        NodeId::Consumer(c) => Ipv4Addr::new(10, 0, 2, c),
        // 10.0.3.n for the run's first group's members, 10.0.4.n for the second's, ...
        NodeId::Member(g, n) => Ipv4Addr::new(10, 0, 3 + group_slot(g), n),
    };
    SocketAddr::new(IpAddr::V4(ip), PORT)
}

/// The node behind a simulated address.
pub fn node_at(address: SocketAddr) -> Option<NodeId> {
    let IpAddr::V4(ip) = address.ip() else {
        return None;
    };
    match ip.octets() {
        [10, 0, 0, c @ 100..=105] => Some(NodeId::Controller(ControllerId(c - 100))),
        [10, 0, 0, b] => Some(NodeId::Broker(BrokerId(b))),
        [10, 0, 1, p] => Some(NodeId::Producer(p)),
        [10, 0, 2, c] => Some(NodeId::Consumer(c)),
        [10, 0, g @ 3..=255, n] => GROUPS.with(|groups| {
            let group = groups.borrow().get(usize::from(g - 3)).copied();
            group.map(|group| NodeId::Member(group, n))
        }),
        _ => None,
    }
}
