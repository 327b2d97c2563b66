//! Evaluates the bundled snapshot with the core: `cargo run -p flagcore --example evaluate`.
use flagcore::{Context, Snapshot, ValueType};
use serde_json::json;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let snapshot = Snapshot::from_json(include_bytes!("snapshot.json"))?;
    let context = Context::from_value(&json!({"kind": "user", "key": "user-42"}))?;
    let detail =
        snapshot.variation_detail("new-checkout", &context, &json!(false), ValueType::Bool);
    println!("{}", serde_json::to_string(&detail)?);
    Ok(())
}
