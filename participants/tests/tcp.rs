//! The default deploy (`deploy/`, the jCard routes) in an in-process container, driven over TCP with CMF:
//! a purchase is approved, its retransmission answered identically without a second post, an
//! over-limit purchase declined with 1016, and the ledger stays sound.

// Shared with tests/jcard.rs, which uses the rest of it.
#[allow(dead_code)]
mod common;

use common::deployed::Deployed;
use rust_decimal_macros::dec;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn jcard_deploy_over_tcp() {
    let d = Deployed::start().await;
    let buy = common::req("2200", "000010", "10.00", common::ALICE);
    let r = d.send(&buy).await;
    assert_eq!(r.get_str(39), Some("0000"));
    assert!(r.get_str(38).is_some());
    assert!(!r.has(2), "the PAN is never echoed");
    let posted = d.gl_count().await;
    let again = d.send(&buy).await;
    assert_eq!(
        (again.get_str(38), again.get_str(39)),
        (r.get_str(38), r.get_str(39))
    );
    assert_eq!(d.gl_count().await, posted, "a retransmission posts nothing");
    assert_eq!(d.balance("21.0001.10", "840").await, dec!(990.00));
    let big = common::req("2200", "000010", "990.01", common::ALICE);
    assert_eq!(d.rc(&big).await, "1016");
    let unknown = common::req("2300", "000000", "1.00", common::ALICE);
    assert_eq!(d.rc(&unknown).await, "1015");
    d.stop().await;
}
