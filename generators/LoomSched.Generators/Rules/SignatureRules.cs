using System.Collections.Generic;
using System.Collections.Immutable;
using System.Linq;
using LoomSched.Generators.Model;
using Microsoft.CodeAnalysis;

namespace LoomSched.Generators.Rules;

/// <summary>The result of checking an <c>[ExpansionFunction]</c> method's signature.</summary>
internal sealed class SignatureCheck
{
    public List<string> Problems { get; } = new();
    public ResultKind Result { get; set; }
    public ImmutableArray<ArgumentKind> Arguments { get; set; } = ImmutableArray<ArgumentKind>.Empty;
    public ITypeSymbol? MapType { get; set; }
    public ITypeSymbol? ValueType { get; set; }
    public bool IsValid => Problems.Count == 0 && MapType is not null && ValueType is not null;
}

/// <summary>
/// The supported shapes of an expansion function. Shared by the generator (which skips what fails) and the
/// LSCH001/LSCH005 analyzers (which explain it), so that the two can never disagree on what is valid.
/// </summary>
internal static class SignatureRules
{
    public const string ValidatorPrefix = "ValidateArgs_";

    private static readonly SymbolDisplayFormat MessageFormat = SymbolDisplayFormat.CSharpShortErrorMessageFormat;

    public static SignatureCheck Check(IMethodSymbol method, KnownTypes types)
    {
        var check = new SignatureCheck();
        var problems = check.Problems;

        if (method.MethodKind != MethodKind.Ordinary)
        {
            problems.Add(method.MethodKind == MethodKind.LocalFunction
                ? "it is a local function; declare it as a method of a class"
                : $"it is a {Describe(method.MethodKind)}, not an ordinary method");
            return check;
        }
        if (!method.IsStatic)
        {
            problems.Add("it is not static");
        }
        if (method.IsAbstract || method.IsVirtual)
        {
            problems.Add("it is abstract or virtual; it must have a body that can be called directly");
        }
        if (method.IsGenericMethod)
        {
            problems.Add($"it is generic (it has type parameter{(method.TypeParameters.Length > 1 ? "s" : "")} {string.Join(", ", method.TypeParameters.Select(t => t.Name))})");
        }
        if (!IsAccessibleInAssembly(method.DeclaredAccessibility))
        {
            problems.Add($"it is {Describe(method.DeclaredAccessibility)}; make it public or internal");
        }
        for (var type = method.ContainingType; type is not null; type = type.ContainingType)
        {
            var display = type.ToDisplayString(MessageFormat);
            if (type.TypeParameters.Length > 0)
            {
                problems.Add($"its containing type {display} is generic");
            }
            if (!IsAccessibleInAssembly(type.DeclaredAccessibility))
            {
                problems.Add($"its containing type {display} is {Describe(type.DeclaredAccessibility)}; make it public or internal");
            }
            if (type.IsFileLocal)
            {
                problems.Add($"its containing type {display} is file-local; generated code cannot reach it");
            }
        }

        check.Arguments = CheckParameters(method, types, problems);
        CheckReturnType(method.ReturnType, types, check);
        return check;
    }

    private static ImmutableArray<ArgumentKind> CheckParameters(IMethodSymbol method, KnownTypes types, List<string> problems)
    {
        var arguments = ImmutableArray.CreateBuilder<ArgumentKind>();
        foreach (var parameter in method.Parameters)
        {
            ArgumentKind? kind =
                SymbolEqualityComparer.Default.Equals(parameter.Type, types.ExpansionContext) ? ArgumentKind.Context
                : SymbolEqualityComparer.Default.Equals(parameter.Type, types.CancellationToken) ? ArgumentKind.CancellationToken
                : null;
            if (kind is null)
            {
                problems.Add($"parameter '{parameter.Name}' is of type {parameter.Type.ToDisplayString(MessageFormat)}; only an ExpansionContext and a CancellationToken can be passed");
                continue;
            }
            if (parameter.RefKind != RefKind.None || parameter.IsParams)
            {
                problems.Add($"parameter '{parameter.Name}' must be passed by value (no ref, out, in or params)");
            }
            if (arguments.Contains(kind.Value))
            {
                problems.Add($"it takes more than one {(kind == ArgumentKind.Context ? "ExpansionContext" : "CancellationToken")}");
            }
            arguments.Add(kind.Value);
        }
        return arguments.ToImmutable();
    }

    private static void CheckReturnType(ITypeSymbol returnType, KnownTypes types, SignatureCheck check)
    {
        var problems = check.Problems;
        var display = returnType.ToDisplayString(MessageFormat);
        if (returnType.SpecialType == SpecialType.System_Void)
        {
            problems.Add("it returns void; return the maps");
            return;
        }
        if (Is(returnType, types.Task) || Is(returnType, types.ValueTask))
        {
            problems.Add($"it returns {display} without a result; return {display}<List<Dictionary<string, object?>>> or similar");
            return;
        }

        var sequence = returnType;
        check.Result = ResultKind.Sequence;
        if (returnType is INamedTypeSymbol { IsGenericType: true } named)
        {
            if (Is(named.OriginalDefinition, types.TaskOfT))
            {
                check.Result = ResultKind.Task;
                sequence = named.TypeArguments[0];
            }
            else if (Is(named.OriginalDefinition, types.ValueTaskOfT))
            {
                check.Result = ResultKind.ValueTask;
                sequence = named.TypeArguments[0];
            }
        }

        var asyncElement = ElementsOf(sequence, types.AsyncEnumerableOfT).FirstOrDefault();
        if (asyncElement is not null)
        {
            if (check.Result != ResultKind.Sequence)
            {
                problems.Add($"it returns {display}; return the IAsyncEnumerable<> itself, not a task of one");
                return;
            }
            check.Result = ResultKind.AsyncEnumerable;
            CheckMap(asyncElement, display, types, check);
            return;
        }

        var elements = ElementsOf(sequence, types.EnumerableOfT).ToList();
        if (elements.Count == 0 || sequence.SpecialType == SpecialType.System_String)
        {
            problems.Add($"its return type {display} is not a sequence of maps");
            return;
        }
        if (elements.Any(e => Is(e.OriginalDefinition, types.KeyValuePair)))
        {
            problems.Add($"its return type {display} is a single map; return a sequence of maps (one per dispatch), e.g. a list or an array of it");
            return;
        }
        // A type may enumerate several element types; the one that is a string-keyed map decides.
        var element = elements.FirstOrDefault(e => MapKeyAndValue(e, types).Key?.SpecialType == SpecialType.System_String)
            ?? elements[0];
        CheckMap(element, display, types, check);
    }

    private static void CheckMap(ITypeSymbol element, string display, KnownTypes types, SignatureCheck check)
    {
        var (key, value) = MapKeyAndValue(element, types);
        if (key is null || value is null)
        {
            check.Problems.Add($"the elements of {display} ({element.ToDisplayString(MessageFormat)}) are not maps; each must implement IEnumerable<KeyValuePair<string, T>>");
            return;
        }
        if (key.SpecialType != SpecialType.System_String)
        {
            check.Problems.Add($"the maps in {display} have keys of type {key.ToDisplayString(MessageFormat)}; keys must be strings");
            return;
        }
        check.MapType = element;
        check.ValueType = value;
    }

    /// <summary>The key and value types of the first <c>IEnumerable&lt;KeyValuePair&lt;K, V&gt;&gt;</c> the type is, preferring string keys.</summary>
    private static (ITypeSymbol? Key, ITypeSymbol? Value) MapKeyAndValue(ITypeSymbol type, KnownTypes types)
    {
        (ITypeSymbol? Key, ITypeSymbol? Value) found = default;
        foreach (var element in ElementsOf(type, types.EnumerableOfT))
        {
            if (element is INamedTypeSymbol pair && Is(pair.OriginalDefinition, types.KeyValuePair))
            {
                found = (pair.TypeArguments[0], pair.TypeArguments[1]);
                if (found.Key.SpecialType == SpecialType.System_String)
                {
                    return found;
                }
            }
        }
        return found;
    }

    /// <summary>Every T such that <paramref name="type"/> is or implements <paramref name="genericInterface"/>&lt;T&gt;.</summary>
    private static IEnumerable<ITypeSymbol> ElementsOf(ITypeSymbol type, INamedTypeSymbol? genericInterface)
    {
        if (genericInterface is null)
        {
            yield break;
        }
        if (type is INamedTypeSymbol self && Is(self.OriginalDefinition, genericInterface))
        {
            yield return self.TypeArguments[0];
        }
        foreach (var implemented in type.AllInterfaces)
        {
            if (Is(implemented.OriginalDefinition, genericInterface))
            {
                yield return implemented.TypeArguments[0];
            }
        }
    }

    /// <summary>
    /// Finds the optional <c>ValidateArgs_&lt;Method&gt;</c> validator next to a function. Returns the validator when one
    /// is usable, otherwise the candidate and what is wrong with it (both null when there is none).
    /// </summary>
    public static (IMethodSymbol? Validator, IMethodSymbol? Rejected, string? Problem) FindValidator(IMethodSymbol function, KnownTypes types)
    {
        IMethodSymbol? rejected = null;
        string? problem = null;
        foreach (var member in function.ContainingType.GetMembers(ValidatorPrefix + function.Name))
        {
            if (member is not IMethodSymbol candidate)
            {
                continue;
            }
            var candidateProblem = ValidatorProblem(candidate, types);
            if (candidateProblem is null)
            {
                return (candidate, null, null);
            }
            rejected ??= candidate;
            problem ??= candidateProblem;
        }
        return (null, rejected, problem);
    }

    private static string? ValidatorProblem(IMethodSymbol validator, KnownTypes types)
    {
        if (!validator.IsStatic)
        {
            return "it is not static";
        }
        if (validator.IsGenericMethod)
        {
            return "it is generic";
        }
        if (!IsAccessibleInAssembly(validator.DeclaredAccessibility))
        {
            return $"it is {Describe(validator.DeclaredAccessibility)}; make it public or internal";
        }
        if (validator.Parameters.Length != 1
            || validator.Parameters[0].RefKind != RefKind.None
            || validator.Parameters[0].Type is not INamedTypeSymbol argsType
            || !Is(argsType.OriginalDefinition, types.ReadOnlyDictionary)
            || argsType.TypeArguments[0].SpecialType != SpecialType.System_String
            || argsType.TypeArguments[1].SpecialType != SpecialType.System_Object)
        {
            return "it must take exactly one IReadOnlyDictionary<string, object?> parameter";
        }
        var errors = ElementsOf(validator.ReturnType, types.EnumerableOfT);
        if (!errors.Any(e => Is(e, types.ExpansionArgError)))
        {
            return $"it returns {validator.ReturnType.ToDisplayString(MessageFormat)}, not IEnumerable<ExpansionArgError>";
        }
        return null;
    }

    /// <summary>Public, internal and protected internal members can be called from generated code in the same assembly.</summary>
    private static bool IsAccessibleInAssembly(Accessibility accessibility) =>
        accessibility is Accessibility.Public or Accessibility.Internal or Accessibility.ProtectedOrInternal;

    private static bool Is(ITypeSymbol? type, INamedTypeSymbol? expected) =>
        expected is not null && SymbolEqualityComparer.Default.Equals(type, expected);

    private static string Describe(Accessibility accessibility) => accessibility switch
    {
        Accessibility.Private => "private",
        Accessibility.Protected => "protected",
        Accessibility.ProtectedAndInternal => "private protected",
        _ => accessibility.ToString().ToLowerInvariant(),
    };

    private static string Describe(MethodKind kind) => kind switch
    {
        MethodKind.Constructor or MethodKind.StaticConstructor => "constructor",
        MethodKind.PropertyGet or MethodKind.PropertySet => "property accessor",
        MethodKind.UserDefinedOperator or MethodKind.Conversion => "operator",
        _ => kind.ToString().ToLowerInvariant(),
    };
}
