pub mod forecast;
pub mod spikes;
