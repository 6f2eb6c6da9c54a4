// Random numbers from the operating system, for Moddable's desktop simulator: XS never seeds Math.random there, so
// every simulated device would draw the same numbers.
function entropy() @ "xs_tether_entropy";

export default entropy;
