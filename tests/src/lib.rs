//! redress-tests: end-to-end tests over real HTTP (moto_server harness comes with the worker).
