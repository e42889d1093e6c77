using System.Text;
using LoomSched.EndToEnd.Tests.Support;
using NATS.NKeys;

namespace LoomSched.EndToEnd.Tests.Reliability.Support;

/// <summary>An nkey pair made for a test (NATS.NKeys comes with NATS.Client.Core).</summary>
public sealed record NKey(string Seed, string PublicKey)
{
    public static NKey Create(PrefixByte role)
    {
        using var pair = KeyPair.CreatePair(role);
        return new NKey(pair.GetSeed(), pair.GetPublicKey());
    }

    public byte[] Sign(byte[] data)
    {
        using var pair = KeyPair.FromSeed(Seed);
        var signature = new byte[64];
        pair.Sign(data, signature);
        return signature;
    }
}

/// <summary>
/// A decentralised-auth setup built in the test, without the nsc tool: an operator, an account and a user, each
/// an nkey, and the JWTs that bind them (NATS JWT v2: <c>ed25519-nkey</c> signatures over base64url JSON).
/// </summary>
public sealed class OperatorSetup
{
    private OperatorSetup(NKey op, NKey account, NKey user, string operatorJwt, string accountJwt, string userJwt)
    {
        Operator = op;
        Account = account;
        User = user;
        OperatorJwt = operatorJwt;
        AccountJwt = accountJwt;
        UserJwt = userJwt;
    }

    public NKey Operator { get; }
    public NKey Account { get; }
    public NKey User { get; }
    public string OperatorJwt { get; }
    public string AccountJwt { get; }
    public string UserJwt { get; }

    public static OperatorSetup Create()
    {
        var op = NKey.Create(PrefixByte.Operator);
        var account = NKey.Create(PrefixByte.Account);
        var user = NKey.Create(PrefixByte.User);
        string operatorJwt = Jwt(op, op.PublicKey, "test-operator", """{"type":"operator","version":2}""");
        string accountJwt = Jwt(op, account.PublicKey, "test-account",
            """{"limits":{"subs":-1,"data":-1,"payload":-1,"imports":-1,"exports":-1,"wildcards":true,"conn":-1,"leaf":-1},"default_permissions":{"pub":{},"sub":{}},"type":"account","version":2}""");
        string userJwt = Jwt(account, user.PublicKey, "test-user", """{"pub":{},"sub":{},"subs":-1,"data":-1,"payload":-1,"type":"user","version":2}""");
        return new OperatorSetup(op, account, user, operatorJwt, accountJwt, userJwt);
    }

    /// <summary>nats-server settings for operator mode with the account preloaded (no resolver service).</summary>
    public string ServerConfig => $$"""
        operator: {{OperatorJwt}}
        resolver: MEMORY
        resolver_preload: {
          {{Account.PublicKey}}: {{AccountJwt}}
        }
        """;

    /// <summary>The user's creds file, in the format nsc writes.</summary>
    public string CredsFile => $"""
        -----BEGIN NATS USER JWT-----
        {UserJwt}
        ------END NATS USER JWT------

        ************************* IMPORTANT *************************
        NKEY Seed printed below can be used to sign and prove identity.
        NKEYs are sensitive and should be treated as secrets.

        -----BEGIN USER NKEY SEED-----
        {User.Seed}
        ------END USER NKEY SEED------

        *************************************************************

        """;

    private static string Jwt(NKey issuer, string subject, string name, string natsClaims)
    {
        long now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        string claims = $$"""{"jti":"{{Guid.NewGuid():N}}","iat":{{now}},"iss":"{{issuer.PublicKey}}","name":"{{name}}","sub":"{{subject}}","nats":{{natsClaims}}}""";
        string header = Base64Url(Encoding.UTF8.GetBytes("""{"typ":"JWT","alg":"ed25519-nkey"}"""));
        string body = Base64Url(Encoding.UTF8.GetBytes(claims));
        string signature = Base64Url(issuer.Sign(Encoding.ASCII.GetBytes($"{header}.{body}")));
        return $"{header}.{body}.{signature}";
    }

    private static string Base64Url(byte[] data) => Convert.ToBase64String(data).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}

/// <summary>A throw-away PKI made with openssl: a CA, a server certificate for 127.0.0.1, a client certificate.</summary>
public sealed class Pki
{
    private Pki(string dir) => Directory = dir;

    public string Directory { get; }
    public string CaCert => Path.Combine(Directory, "ca.pem");
    public string ServerCert => Path.Combine(Directory, "server.pem");
    public string ServerKey => Path.Combine(Directory, "server-key.pem");
    public string ClientCert => Path.Combine(Directory, "client.pem");
    public string ClientKey => Path.Combine(Directory, "client-key.pem");

    public static async Task<Pki> CreateAsync()
    {
        var pki = new Pki(System.IO.Directory.CreateTempSubdirectory("loomsched-pki-").FullName);
        await File.WriteAllTextAsync(Path.Combine(pki.Directory, "server.ext"), "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n");
        await File.WriteAllTextAsync(Path.Combine(pki.Directory, "client.ext"), "extendedKeyUsage=clientAuth\n");
        await OpensslAsync(pki.Directory, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=loomsched test CA",
            "-keyout", "ca-key.pem", "-out", "ca.pem");
        foreach (var (name, cn) in new[] { ("server", "127.0.0.1"), ("client", "loomsched") })
        {
            await OpensslAsync(pki.Directory, "req", "-newkey", "rsa:2048", "-nodes", "-subj", $"/CN={cn}", "-keyout", $"{name}-key.pem", "-out", $"{name}.csr");
            await OpensslAsync(pki.Directory, "x509", "-req", "-in", $"{name}.csr", "-CA", "ca.pem", "-CAkey", "ca-key.pem", "-CAcreateserial",
                "-days", "2", "-extfile", $"{name}.ext", "-out", $"{name}.pem");
        }
        return pki;
    }

    private static async Task OpensslAsync(string dir, params string[] args)
    {
        var info = ChildProcess.Info("openssl", args);
        info.WorkingDirectory = dir;
        await ChildProcess.RunCheckedAsync(info, TimeSpan.FromSeconds(60));
    }
}
