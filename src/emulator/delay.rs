//! Precise delays for `--latency-ms`. tokio's timer works in whole milliseconds and rounds a
//! sleep up to the next tick, so `sleep(10 ms)` answers after about 11 ms, which would make
//! the emulator slower than it says. One thread keeps the pending deadlines and wakes each
//! waiter at its deadline (to within a tenth of a millisecond or so on Linux).

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::sync::Mutex;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::time::{Duration, Instant};

use tokio::sync::oneshot;

type Request = (Instant, oneshot::Sender<()>);

pub(crate) struct Delays {
    tx: Mutex<mpsc::Sender<Request>>,
}

impl Delays {
    pub(crate) fn new() -> Delays {
        let (tx, rx) = mpsc::channel::<Request>();
        let spawned = std::thread::Builder::new()
            .name("emulator-latency".into())
            .spawn(move || run(rx));
        if let Err(e) = spawned {
            tracing::warn!("no latency thread ({e}); delays use tokio's timer");
        }
        Delays { tx: Mutex::new(tx) }
    }

    /// Waits until `deadline`.
    pub(crate) async fn until(&self, deadline: Instant) {
        let (tx, rx) = oneshot::channel();
        let sent = self
            .tx
            .lock()
            .map(|s| s.send((deadline, tx)).is_ok())
            .unwrap_or(false);
        if !sent || rx.await.is_err() {
            tokio::time::sleep_until(deadline.into()).await;
        }
    }
}

fn run(rx: mpsc::Receiver<Request>) {
    let mut heap: BinaryHeap<Reverse<(Instant, u64)>> = BinaryHeap::new();
    let mut waiting: HashMap<u64, oneshot::Sender<()>> = HashMap::new();
    let mut seq = 0u64;
    loop {
        let now = Instant::now();
        while let Some(Reverse((at, id))) = heap.peek().copied() {
            if at > now {
                break;
            }
            heap.pop();
            if let Some(tx) = waiting.remove(&id) {
                let _ = tx.send(());
            }
        }
        let timeout = heap
            .peek()
            .map_or(Duration::from_secs(3600), |Reverse((at, _))| {
                at.saturating_duration_since(now)
            });
        match rx.recv_timeout(timeout) {
            Ok((at, tx)) => {
                seq += 1;
                heap.push(Reverse((at, seq)));
                waiting.insert(seq, tx);
            }
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn waits_until_the_deadline() {
        let d = Delays::new();
        let start = Instant::now();
        d.until(start + Duration::from_millis(5)).await;
        assert!(start.elapsed() >= Duration::from_millis(5));
    }
}
