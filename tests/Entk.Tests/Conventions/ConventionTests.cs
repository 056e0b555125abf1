using System;
using System.Collections;
using System.Collections.Generic;
using System.Linq;
using System.Reflection;
using NUnit.Framework;
using static Entk.Tests.Conventions.PublicSurface;

namespace Entk.Tests.Conventions
{
    /// <summary>
    /// The conventions of the public API (README, "Public API"), enforced by reflection over Entk.Core, Entk and Entk.Paper in
    /// the manner of NodaTime's convention tests. Exceptions are listed with a reason; an entry that no longer matches a
    /// violation fails the test too, so the lists only shrink.
    /// </summary>
    [TestFixture]
    public class ConventionTests
    {
        /// <summary>Open (non-sealed, non-abstract) public classes allowed, with the reason.</summary>
        private static readonly Dictionary<string, string> OpenClassesAllowed = new()
        {
            ["Entk.EntkArgumentException"] = "thrown for argument errors of no more specific kind and the base of ShapeMismatchException and NonFiniteValueException, so that one catch handles every rejected argument",
        };

        /// <summary>Members allowed to break the collection rules, with the reason.</summary>
        private static readonly Dictionary<string, string> CollectionLeaksAllowed = new()
        {
        };

        /// <summary>Types whose instances need an external fixture; another test checks their collection members.</summary>
        private static readonly Dictionary<string, string> NoSampleNeeded = new()
        {
            ["Entk.Models.TorchScriptImport"] = "needs a file written by Python's torch.jit.save; TorchScriptTests.Load_NamesFollowPyTorch checks Layers is a read-only copy",
        };

        private static void AssertNone(IEnumerable<string> violations, IReadOnlyDictionary<string, string> allowed, string rule)
        {
            var found = violations.Distinct().OrderBy(v => v, StringComparer.Ordinal).ToList();
            var unexpected = found.Where(v => !allowed.ContainsKey(v.Split(' ')[0])).ToList();
            var stale = allowed.Keys.Where(k => !found.Any(v => v.Split(' ')[0] == k)).ToList();
            Assert.Multiple(() =>
            {
                Assert.That(unexpected, Is.Empty, rule + ":\n  " + string.Join("\n  ", unexpected) + "\n");
                Assert.That(stale, Is.Empty, "allow-list entries that no longer match a violation (remove them): " + rule);
            });
        }

        [Test]
        public void PublicClasses_AreSealedStaticOrAbstract()
        {
            var open = Types.Where(t => t.IsClass && !IsDelegate(t) && !t.IsSealed && !t.IsAbstract).Select(t => t.FullName!);
            AssertNone(open, OpenClassesAllowed, "public classes must be sealed, static or abstract");
        }

        [Test]
        public void PublicTypes_HaveNoPublicMutableState()
        {
            var violations = new List<string>();
            foreach (var t in Types.Where(t => !t.IsEnum && !IsDelegate(t)))
            {
                foreach (var f in t.GetFields(Declared).Where(f => !f.IsLiteral && !f.IsInitOnly))
                    violations.Add(Name(f) + " (a public field that is neither const nor readonly)");
                foreach (var p in Properties(t).Where(HasPublicMutableSetter))
                    violations.Add(Name(p) + " (a public setter; options use init)");
            }
            AssertNone(violations, new Dictionary<string, string>(), "results and options are immutable");
        }

        [Test]
        public void Options_AreSealedRecordsWithInitProperties()
        {
            var options = Types.Where(t => t.Name.EndsWith("Options", StringComparison.Ordinal) && !t.IsEnum).ToList();
            Assert.That(options.Select(t => t.Name), Does.Contain("NtkOptions").And.Contain("TmsTrainingOptions").And.Contain("MlpAnalysisOptions"));
            var violations = new List<string>();
            foreach (var t in options)
            {
                bool isRecord = t.GetMethod("<Clone>$") is not null;
                if (!t.IsSealed || !isRecord) violations.Add(t.FullName + " (options are a sealed record, so that `with` works from C# and every member has a default)");
                if (t.GetConstructor(Type.EmptyTypes) is null) violations.Add(t.FullName + " (no parameterless constructor: every option needs a default)");
                foreach (var p in Properties(t).Where(p => !p.GetMethod!.IsStatic && p.SetMethod is not null && !HasInitSetter(p)))
                    violations.Add(Name(p) + " (not init-only)");
            }
            AssertNone(violations, new Dictionary<string, string>(), "options are sealed records with init properties");
        }

        [Test]
        public void PublicMembers_AreNotArrays()
        {
            var violations = new List<string>();
            foreach (var t in Types.Where(t => !t.IsEnum && !IsDelegate(t)))
            {
                foreach (var p in Properties(t).Where(p => p.PropertyType.IsArray))
                    violations.Add(Name(p) + " (a property of array type: hand out IReadOnlyList over a private copy, or a method returning a new array)");
                foreach (var f in t.GetFields(Declared).Where(f => f.FieldType.IsArray))
                    violations.Add(Name(f) + " (a public array field)");
            }
            AssertNone(violations, new Dictionary<string, string>(), "no public member is a mutable array");
        }

        [Test]
        public void CollectionMembers_NeverHandOutPrivateState()
        {
            // Instances made by the public API (ConventionSamples); every type with a collection property or a
            // parameterless array-returning method must have one, so that new types are covered too.
            var samples = ConventionSamples.All.Value;
            var sampled = samples.Select(s => s.GetType()).ToHashSet();
            var violations = new List<string>();
            foreach (var t in Types.Where(t => !t.IsEnum && !IsDelegate(t)))
            {
                var props = Properties(t).Where(p => p.GetIndexParameters().Length == 0 && IsCollection(p.PropertyType)).ToList();
                var arrayMethods = t.GetMethods(Declared).Where(m => m.IsPublic && !m.IsStatic && m.GetParameters().Length == 0 && m.ReturnType.IsArray && IsHandWritten(m)).ToList();
                foreach (var p in props.Where(p => p.GetMethod!.IsStatic))
                    violations.AddRange(CheckValue(Name(p), () => p.GetValue(null)));
                var instanceProps = props.Where(p => !p.GetMethod!.IsStatic).ToList();
                if (instanceProps.Count + arrayMethods.Count == 0 || IsStatic(t)) continue;
                var instances = samples.Where(s => t.IsInstanceOfType(s)).ToList();
                if (instances.Count == 0 && NoSampleNeeded.ContainsKey(t.FullName!)) continue;
                if (instances.Count == 0)
                {
                    violations.Add(t.FullName + " (no sample instance in ConventionSamples: add one)");
                    continue;
                }
                foreach (var o in instances)
                {
                    foreach (var p in instanceProps) violations.AddRange(CheckValue(Name(p), () => p.GetValue(o)));
                    foreach (var m in arrayMethods)
                    {
                        object? a, b;
                        try
                        {
                            a = m.Invoke(o, null);
                            b = m.Invoke(o, null);
                        }
                        catch (TargetInvocationException e) when (e.InnerException is InvalidOperationException or ArgumentException)
                        {
                            continue;                                 // not applicable to this instance (e.g. ToSingleArray of a float64 array)
                        }
                        if (a is not null && ReferenceEquals(a, b)) violations.Add(Name(m) + " (returns the same array twice: a private array)");
                    }
                }
                if (!sampled.Contains(t) && !t.IsAbstract) { /* covered through a subclass or interface */ }
            }
            // Options records: a collection given to an init accessor must be copied, not kept.
            foreach (var t in Types.Where(t => !t.IsAbstract && t.GetConstructor(Type.EmptyTypes) is not null))
                foreach (var p in Properties(t).Where(p => HasInitSetter(p) && IsCollection(p.PropertyType)))
                {
                    var element = ElementType(p.PropertyType);
                    if (element is null) continue;
                    var source = Array.CreateInstance(element, 2);
                    source.SetValue(SampleValue(element, 1), 0);
                    source.SetValue(SampleValue(element, 2), 1);
                    if (!p.PropertyType.IsAssignableFrom(source.GetType())) continue;
                    var o = Activator.CreateInstance(t)!;
                    p.SetValue(o, source);
                    source.SetValue(SampleValue(element, 3), 0);   // the caller changes its array afterwards
                    var read = ((IEnumerable)p.GetValue(o)!).Cast<object>().ToList();
                    if (!Equals(read[0], SampleValue(element, 1))) violations.Add(Name(p) + " (keeps the caller's array: changing it afterwards changes the options)");
                }
            AssertNone(violations, CollectionLeaksAllowed, "collections are handed out as read-only views of private copies, or as new copies");
        }

        private static IEnumerable<string> CheckValue(string name, Func<object?> read)
        {
            object? a = read(), b = read();
            if (a is null) yield break;
            if (IsMutableCollection(a) && ReferenceEquals(a, b))
                yield return name + " (returns the same mutable " + a.GetType().Name + " on every read: a private array or list that a cast can change)";
        }

        private static bool IsCollection(Type t) => t != typeof(string) && typeof(IEnumerable).IsAssignableFrom(t);

        private static bool IsMutableCollection(object o) =>
            o is Array || (o is IList list && !list.IsReadOnly) || (o is IDictionary d && !d.IsReadOnly)
            || o.GetType().GetInterfaces().Any(i => i.IsGenericType && i.GetGenericTypeDefinition() == typeof(ICollection<>)
                   && !(bool)i.GetProperty("IsReadOnly")!.GetValue(o)!);

        private static Type? ElementType(Type t)
        {
            if (t.IsArray) return t.GetElementType();
            var e = new[] { t }.Concat(t.GetInterfaces()).FirstOrDefault(i => i.IsGenericType && i.GetGenericTypeDefinition() == typeof(IEnumerable<>));
            return e?.GetGenericArguments()[0];
        }

        private static object? SampleValue(Type t, int i) =>
            t == typeof(double) ? 0.25 * i : t == typeof(int) ? 10 + i : t == typeof(long) ? 100L + i : t == typeof(string) ? "s" + i : null;

        /// <summary>Words that name a choice; a public string property or parameter so named should be an enum.</summary>
        private static readonly string[] ChoiceWords =
        {
            "kind", "mode", "method", "policy", "strategy", "route", "reduction", "activation", "backend", "solver", "scheme",
            "origin", "location", "verdict", "order", "direction", "family", "families",
        };

        private static bool NamesAChoice(string? name) =>
            name is not null && ChoiceWords.Any(w => name.Equals(w, StringComparison.OrdinalIgnoreCase) || name.EndsWith(char.ToUpperInvariant(w[0]) + w[1..], StringComparison.Ordinal));

        /// <summary>String members that name a choice-like thing but are not choices, with the reason.</summary>
        private static readonly Dictionary<string, string> StringChoicesAllowed = new()
        {
            ["Entk.IO.CheckpointData.Kind"] = "a format tag from an open vocabulary: written into and read back from .npz checkpoints; files of other tools carry kinds Entk does not know (CheckpointData.UnknownKind)",
            ["Entk.IO.CheckpointData..ctor(kind)"] = "the same open-vocabulary format tag",
            ["Entk.IO.ModelFiles.ToCheckpoint(kind)"] = "the same open-vocabulary format tag",
        };

        [Test]
        public void Choices_AreEnums()
        {
            var violations = new List<string>();
            foreach (var t in Types.Where(t => !t.IsEnum && !IsDelegate(t)))
            {
                foreach (var p in Properties(t).Where(p => p.PropertyType == typeof(string) && NamesAChoice(p.Name)))
                    violations.Add(Name(p) + " (a string that names a choice)");
                foreach (var m in Methods(t))
                    foreach (var a in m.GetParameters().Where(a => a.ParameterType == typeof(string) && NamesAChoice(a.Name)))
                        violations.Add(Name(m) + "(" + a.Name + ") (a string parameter that names a choice)");
            }
            AssertNone(violations, StringChoicesAllowed, "choices are enums, not strings");
        }

        [Test]
        public void PublicSignatures_HaveNoOutRefOrTuples()
        {
            var violations = new List<string>();
            foreach (var t in Types.Where(t => !t.IsEnum && !IsDelegate(t)))
            {
                foreach (var m in Methods(t))
                {
                    foreach (var a in m.GetParameters())
                    {
                        if (a.ParameterType.IsByRef) violations.Add(Name(m) + "(" + a.Name + ") (an out/ref/in parameter)");
                        else if (ContainsTuple(a.ParameterType)) violations.Add(Name(m) + "(" + a.Name + ") (a tuple parameter)");
                    }
                    if (m is MethodInfo mi && (mi.ReturnType.IsByRef || ContainsTuple(mi.ReturnType)))
                        violations.Add(Name(m) + " (returns a tuple or a reference: return a named type)");
                }
                foreach (var p in Properties(t).Where(p => p.PropertyType.IsByRef || ContainsTuple(p.PropertyType)))
                    violations.Add(Name(p) + " (a tuple-typed property)");
            }
            AssertNone(violations, new Dictionary<string, string>(), "no public out/ref parameters or tuples");
        }

        [Test]
        public void Progress_IsAnOptionsProperty_NeverAParameter()
        {
            var violations = new List<string>();
            foreach (var t in Types.Where(t => !t.IsEnum && !IsDelegate(t)))
                foreach (var m in Methods(t))
                    foreach (var a in m.GetParameters().Where(a => a.ParameterType.IsGenericType && a.ParameterType.GetGenericTypeDefinition() == typeof(IProgress<>)))
                        violations.Add(Name(m) + "(" + a.Name + ") (progress is passed as the Progress property of the options record)");
            var progressProps = Types.SelectMany(Properties).Where(p => p.PropertyType.IsGenericType && p.PropertyType.GetGenericTypeDefinition() == typeof(IProgress<>)).ToList();
            foreach (var p in progressProps)
                if (p.Name != "Progress" || !HasInitSetter(p)) violations.Add(Name(p) + " (a progress sink is an init property named Progress)");
            Assert.That(progressProps, Is.Not.Empty, "the rule has something to check");
            AssertNone(violations, new Dictionary<string, string>(), "progress is passed one way");
        }

        [Test]
        public void Exceptions_CarryEveryConstructorArgumentAsAProperty()
        {
            var exceptionTypes = Types.Where(t => typeof(Exception).IsAssignableFrom(t) && !t.IsAbstract).ToList();
            Assert.That(exceptionTypes.Select(t => t.Name), Does.Contain("EntkNonConvergenceException").And.Contain("ModelOutputShapeException"));
            var violations = new List<string>();
            foreach (var t in exceptionTypes)
            {
                if (t.IsSealed == false && !OpenClassesAllowed.ContainsKey(t.FullName!)) violations.Add(t.FullName + " (not sealed)");
                foreach (var c in t.GetConstructors())
                {
                    var ps = c.GetParameters();
                    var args = ps.Select((p, i) => Argument(p.ParameterType, i)).ToArray();
                    var e = (Exception)c.Invoke(args);
                    Assert.That(e.Message, Is.Not.Empty);
                    for (int i = 0; i < ps.Length; i++)
                    {
                        string name = ps[i].Name!;
                        if (name is "inner" or "innerException")
                        {
                            if (!ReferenceEquals(e.InnerException, args[i])) violations.Add(t.FullName + "(" + name + ") (not the InnerException)");
                            continue;
                        }
                        var prop = t.GetProperty(name, BindingFlags.Public | BindingFlags.Instance | BindingFlags.IgnoreCase);
                        if (prop is null)
                        {
                            violations.Add(t.FullName + "(" + name + ") (the constructor argument has no property)");
                            continue;
                        }
                        var value = prop.GetValue(e);
                        bool same = args[i] switch
                        {
                            string s => value is string v && v.Contains(s, StringComparison.Ordinal),
                            double[] d => value is IEnumerable<double> vd && vd.SequenceEqual(d),
                            null => value is null,
                            var x => Equals(x, value),
                        };
                        if (!same) violations.Add(t.FullName + "." + prop.Name + " (does not carry the constructor argument " + name + ")");
                        if (args[i] is double[] arr && value is not null)
                        {
                            arr[0] = -999;                           // the caller's array changes afterwards
                            if (((IEnumerable<double>)value).First() == -999) violations.Add(t.FullName + "." + prop.Name + " (keeps the caller's array)");
                            if (value is Array) violations.Add(t.FullName + "." + prop.Name + " (hands out an array)");
                        }
                    }
                }
            }
            AssertNone(violations, new Dictionary<string, string>(), "every public exception type carries its data as properties");
        }

        private static object? Argument(Type t, int i)
        {
            if (t == typeof(string)) return "arg" + i + "-text";
            if (t == typeof(int)) return 7 + i;
            if (t == typeof(long)) return 1000L + i;
            if (t == typeof(double)) return 0.5 + i;
            if (t == typeof(Exception)) return new InvalidOperationException("inner");
            if (t.IsAssignableFrom(typeof(double[]))) return new[] { 1.5, 2.5, 3.5 };
            if (t.IsAssignableFrom(typeof(long[]))) return new[] { 2L, 3L };
            if (Nullable.GetUnderlyingType(t) is Type u) return Argument(u, i);
            throw new NotSupportedException("no sample argument of type " + t + " (extend ConventionTests.Argument)");
        }
    }
}
