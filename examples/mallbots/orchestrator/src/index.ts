// Scaffold: replaced by the service's code.
export {};
