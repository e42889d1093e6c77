namespace LoomSched.EndToEnd.Tests.Deploy;

/// <summary>A throw-away CA and a server certificate for 127.0.0.1, made with the openssl command line.</summary>
internal static class TestCertificates
{
    /// <summary>Writes ca.pem, server.pem and server.key into <paramref name="dir"/>.</summary>
    public static async Task CreateAsync(string dir)
    {
        string P(string name) => Path.Combine(dir, name);
        File.WriteAllText(P("server.ext"), "basicConstraints=CA:FALSE\nsubjectAltName=IP:127.0.0.1,DNS:localhost\n");
        await ImageContainer.RunAsync("openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-keyout", P("ca.key"), "-out", P("ca.pem"), "-days", "1", "-subj", "/CN=loomsched test CA");
        await ImageContainer.RunAsync("openssl", "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-keyout", P("server.key"), "-out", P("server.csr"), "-subj", "/CN=localhost");
        await ImageContainer.RunAsync("openssl", "x509", "-req", "-in", P("server.csr"), "-CA", P("ca.pem"), "-CAkey", P("ca.key"),
            "-CAcreateserial", "-out", P("server.pem"), "-days", "1", "-extfile", P("server.ext"));
    }
}
