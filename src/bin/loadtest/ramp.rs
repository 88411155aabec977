//! `ramp`: the per-room rate doubles until p99 passes 100 ms or anything is
//! lost, then bisects: the highest sustained deliveries a second.

use crate::fanout::{fanout_step, setup_rooms};
use crate::{AnyError, Args};

/// Returns the highest sustained deliveries a second.
pub async fn ramp(args: &Args) -> Result<f64, AnyError> {
    println!("ramp: 10 rooms x 100 members; per-room rate doubles each 5 s step until p99 > 100 ms or any loss, then 3 bisection steps between the last passing and the first failing rate");
    let rooms = setup_rooms(args, "ramp", 10, 100).await?;
    let mut best = 0.0;
    let mut best_rate = 0.0;
    let mut rate = 5.0;
    // Some(rate) once a step has failed.
    let mut failed: Option<f64> = None;
    let mut bisections = 0;
    loop {
        let ((dps, p50, p99, _, lost, dup, sent), _) =
            fanout_step(args, &rooms, rate, 5.0, false).await?;
        let passed = p99 <= 100.0 && lost == 0 && dup == 0;
        println!(
            "  {rate:>6.0} msgs/s/room: sent {sent}, deliveries/s {dps:.0}, p50 {p50:.2} ms, p99 {p99:.2} ms, lost {lost}, dup {dup}{}",
            if passed { "" } else { "  (fails)" }
        );
        if passed && dps > best {
            best = dps;
            best_rate = rate;
        }
        if !passed {
            failed = Some(failed.map_or(rate, |f: f64| f.min(rate)));
        }
        match failed {
            None if rate * 2.0 <= 20_000.0 => rate *= 2.0,
            None => break,
            Some(_) if bisections == 3 => break,
            Some(bad) => {
                bisections += 1;
                let low = if best_rate > 0.0 {
                    best_rate
                } else {
                    bad / 2.0
                };
                rate = ((low + bad) / 2.0).round();
            }
        }
    }
    println!("  highest sustained: {best:.0} deliveries/s ({best_rate:.0} msgs/s per room)");
    Ok(best)
}
