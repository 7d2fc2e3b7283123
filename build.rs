// The migrations are embedded in the binary (`db::mod`): a new one must rebuild it.
fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
