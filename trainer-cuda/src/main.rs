fn main() {
    println!("onecycle");
}
